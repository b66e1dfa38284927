/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AdminSettingsPage, type SectionState } from '../../views/admin/settings.tsx';
import type { BackupSummary, TargetFormState } from '../../views/admin/settings-backups.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RestoreTester } from '../backup/restore-test.ts';
import type { AppContext } from '../app-context.ts';
import type { Config, SettingName } from '../config/config.ts';
import { auditCtx } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { RouteHelpers } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { normalizePhone } from '../sms/phone.ts';
import { backupTargetRoutes } from './backup-target-routes.tsx';
import { SECTIONS, SECTION_TITLES, type SectionId } from './settings-fields.ts';

type C = Context<AppEnv>;
const ADMIN = { kind: 'instance-admin' } as const;

const flashes: Record<string, FlashMsg> = {
  saved: { kind: 'ok', text: 'Settings saved. They apply from now on.' },
  unchanged: { kind: 'ok', text: 'Nothing changed.' },
  'mail-sent': { kind: 'ok', text: 'Test email sent. Check the inbox of your account address.' },
  'sms-sent': { kind: 'ok', text: 'Test SMS sent.' },
  'targets-ok': { kind: 'ok', text: 'Every backup target answered: a test object was written, read back and deleted.' },
  'target-ok': { kind: 'ok', text: 'Connection works: a test object was written, read back and deleted.' },
  'target-added': { kind: 'ok', text: 'Backup target tested and saved. It is used from the next start of the server.' },
  'target-removed': { kind: 'ok', text: 'Backup target removed from the list. The objects already stored there are kept; the server stops shipping to it at its next start.' },
};
function backupSummary(ctx: AppContext, tester: RestoreTester | undefined): BackupSummary {
  const cfg = ctx.cfg;
  const src = (n: SettingName) => (cfg.explicit[n] ? `set by ${cfg.explicit[n]}` : 'default');
  const status = tester?.backup?.status();
  const last = tester?.repo.recent(1)[0];
  const t = ctx.backupTargetSettings;
  return {
    targets: t.list(),
    removedRunning: t.removedButRunning().length,
    restartPending: t.restartPending(),
    running: tester?.backup !== undefined,
    intervals: [
      { label: 'Shipping interval', value: `${cfg.backupSyncIntervalMs} ms`, source: src('backupSyncIntervalMs') },
      { label: 'Snapshot interval', value: `${cfg.backupSnapshotHours} h`, source: src('backupSnapshotHours') },
      { label: 'Retention', value: `${cfg.backupRetentionDays} days`, source: src('backupRetentionDays') },
      { label: 'Restore test schedule', value: `${cfg.backupRestoreTestCron} (UTC)`, source: src('backupRestoreTestCron') },
    ],
    lagSeconds: status?.lagSeconds,
    position: status?.position ? `WAL ${status.position.walIndex}, frame ${status.position.frame}` : undefined,
    lastRestoreTest: last ? { at: last.finishedAt, ok: last.ok } : undefined,
  };
}

/** /admin/settings: the instance settings page, its section saves and the test messages. */
export type SettingsPage = (c: C, opts?: { state?: SectionState; targetForm?: TargetFormState; flash?: FlashMsg; status?: ContentfulStatusCode }) => Response | Promise<Response>;

export function settingsRoutes(r: RouteHelpers, restoreTester: RestoreTester | undefined): void {
  const page = (c: C, opts: { state?: SectionState; targetForm?: TargetFormState; flash?: FlashMsg; status?: ContentfulStatusCode } = {}) => {
    const ctx = c.get('app');
    const s = ctx.instanceSettings;
    const key = c.req.query('done');
    const sections = Object.fromEntries(SECTIONS.map((id) => [id, s.view(id)])) as Record<SectionId, ReturnType<typeof s.view>>;
    return render(
      c,
      'Instance settings',
      <AdminSettingsPage
        csrf={c.get('csrfToken')}
        sections={sections}
        state={opts.state}
        flash={opts.flash ?? (key ? flashes[key] : undefined)}
        testAddress={c.get('user')!.email}
        mailConfigured={s.smtp() !== undefined}
        smsConfigured={s.smsProvider() !== undefined}
        backups={backupSummary(ctx, restoreTester)}
        targetForm={opts.targetForm}
      />,
      opts.status ?? 200,
    );
  };

  r.get('/admin/settings', ADMIN, (c) => page(c));

  for (const section of SECTIONS) {
    r.post(`/admin/settings/${section}`, ADMIN, async (c) => {
      // Mail, SMS and security settings hold secrets or guard sign-in: a fresh password first.
      if (section !== 'general') {
        const redirect = requireRecentAuth(c, `/admin/settings#${section}`);
        if (redirect) return redirect;
      }
      const body = await c.req.parseBody();
      const form = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const res = c.get('app').instanceSettings.save(section, form, auditCtx(c));
      if (!res.ok) {
        const n = Object.keys(res.errors).length;
        return page(c, { state: { section, errors: res.errors, values: res.values }, flash: { kind: 'error', text: `${SECTION_TITLES[section]} settings not saved: ${n === 1 ? 'one field needs' : `${n} fields need`} correcting.` }, status: 400 });
      }
      return c.redirect(`/admin/settings?done=${res.changed.length ? 'saved' : 'unchanged'}#${section}`, 303);
    });
  }

  r.post('/admin/settings/mail/test', ADMIN, async (c) => {
    const ctx = c.get('app');
    const user = c.get('user')!;
    const name = ctx.instanceSettings.instanceName() || 'Tessera';
    const res = await ctx.mailer.sendTest(user.email, `${name}: test email`, `This is a test email from ${name}, sent from the instance settings page.\n\nIf you can read it, outgoing mail works.\n`);
    ctx.audit.record(auditCtx(c), 'settings.mail_test_sent', { type: 'settings', id: 'mail' }, res.ok ? 'success' : 'failure', res.ok ? {} : { error: res.error });
    if (res.ok) return c.redirect('/admin/settings?done=mail-sent#mail', 303);
    // 409: nothing to test yet; 502: the mail server refused or could not be reached.
    return page(c, { flash: { kind: 'error', text: `The test email was not sent: ${res.error}. Check host, port, encryption and credentials.` }, status: res.error.startsWith('no ') ? 409 : 502 });
  });

  r.post('/admin/settings/backups/test', ADMIN, async (c) => {
    const ctx = c.get('app');
    const t = ctx.backupTargetSettings;
    if (t.running.length === 0) return page(c, { flash: { kind: 'error', text: 'No backup target is in use: there is nothing to test.' }, status: 409 });
    const results = await t.testRunning();
    const failed = results.filter((x) => x.error !== undefined);
    ctx.audit.record(auditCtx(c), 'settings.backup_targets_tested', { type: 'settings', id: 'backups' }, failed.length ? 'failure' : 'success', { targets: results.map((x) => ({ target: x.label, ok: x.error === undefined })) });
    if (failed.length === 0) return c.redirect('/admin/settings?done=targets-ok#backups', 303);
    return page(c, { flash: { kind: 'error', text: `Backup target check failed: ${failed.map((x) => x.error).join('; ')}.` }, status: 502 });
  });

  backupTargetRoutes(r, page);

  r.post('/admin/settings/sms/test', ADMIN, async (c) => {
    const ctx = c.get('app');
    const body = await c.req.parseBody();
    const to = normalizePhone(typeof body.to === 'string' ? body.to : '');
    if (!to) return page(c, { state: { section: 'sms', errors: {}, values: {} }, flash: { kind: 'error', text: 'Enter the number for the test SMS as an international number such as +41791234567.' }, status: 400 });
    const name = ctx.instanceSettings.instanceName() || 'Tessera';
    const res = await ctx.sms.sendTest(to, `${name}: test SMS from the instance settings page.`);
    ctx.audit.record(auditCtx(c), 'settings.sms_test_sent', { type: 'settings', id: 'sms' }, res.ok ? 'success' : 'failure', res.ok ? {} : { error: res.error });
    if (res.ok) return c.redirect('/admin/settings?done=sms-sent#sms', 303);
    return page(c, { flash: { kind: 'error', text: `The test SMS was not sent: ${res.error}.` }, status: res.error.startsWith('no ') ? 409 : 502 });
  });
}
