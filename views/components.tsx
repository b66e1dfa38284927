// Temporary: views/public.tsx and views/errors.tsx are being changed in parallel and still import
// these paths; the lead moves them into their folders and deletes this file and layout.tsx.
export { ActionButton, Check, Csrf, Field, FieldError, Select, TextArea } from './components/form.tsx';
export { Flash, FlashBox, type FlashMsg } from './components/flash.tsx';
export { when } from './components/when.ts';
