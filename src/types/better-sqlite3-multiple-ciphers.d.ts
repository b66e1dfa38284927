// The package ships an index.d.ts, but its "exports" map hides it from NodeNext resolution, so
// TypeScript cannot find it. Its API is better-sqlite3's; reuse those well-kept types.
declare module 'better-sqlite3-multiple-ciphers' {
  import Database = require('better-sqlite3');
  export = Database;
}
