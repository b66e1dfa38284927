// Temporary: see views/components.tsx.
export { Layout, type LayoutProps } from './components/layout.tsx';
