import { afterAll } from 'vitest';
import { removeTempDirs } from './temp.ts';

// Runs before each test file (vitest re-runs setup files per file, also in a reused worker):
// whatever a file's tests did, the directories they made go when the file is done.
afterAll(removeTempDirs);
