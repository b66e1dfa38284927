/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { PermissionsTable } from '../orgs/permissions.tsx';

export function AdminPermissionsPage() {
  return (
    <>
      <h1>Roles and permissions</h1>
      <p>What each organization role may do. The same table applies in every organization.</p>
      <PermissionsTable />
    </>
  );
}
