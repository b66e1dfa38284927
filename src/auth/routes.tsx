/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { AccountPage, SessionsPage } from '../../views/auth/account.tsx';
import { SetupForm, SetupInvalidPage } from '../../views/auth/setup.tsx';
import { ConfirmEmailForm, ForgotForm, LoginForm, Notice, ReauthForm, ResetForm, SecondFactorForm } from '../../views/auth/sign-in.tsx';
import { PhonePage, RecoveryCodes, TotpSetup } from '../../views/auth/two-factor.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { clearSessionCookie, setSessionCookie } from '../http/cookies.ts';
import { CONTROL_CHARS, parseForm, safeNext } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { clearLinkCookie, exchangeLinkToken, readLinkCookie } from '../http/link-cookie.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import { csrfToken } from '../http/session.ts';
import type { AppEnv } from '../http/types.ts';
import { hasSecondFactor } from './service.ts';
import { qrSvg } from './totp.ts';

const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), 'Contains characters that are not allowed.');
const email = z.string().trim().max(254, 'At most 254 characters.').pipe(z.email('Enter a valid email address.'));
const password = z.string().min(1, 'Required.').max(256, 'At most 256 characters.');
type C = Context<AppEnv>;

/** Login, second factor, setup, password reset, email confirmation and the account pages. */
export function authRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- first owner ----------------------------------------------------------------------------
  r.get('/setup', { kind: 'public' }, (c) => {
    const ctx = c.get('app');
    if (ctx.auth.instanceHasOwner()) return c.html(<SetupInvalidPage reason="done" />, 410);
    const hop = exchangeLinkToken(c, 'setup', '/setup');
    if (hop) return hop;
    const check = ctx.setup.check(readLinkCookie(c, 'setup'));
    if (!check.ok) return c.html(<SetupInvalidPage reason={check.reason} />, check.reason === 'invalid' ? 404 : 410);
    return render(c, 'Set up Tessera', <SetupForm csrf={csrfToken(c)} />);
  });

  r.post('/setup', { kind: 'public' }, async (c) => {
    const ctx = c.get('app');
    const token = readLinkCookie(c, 'setup');
    if (!ctx.auth.instanceHasOwner() && !ctx.setup.check(token).ok) return c.html(<SetupInvalidPage reason="invalid" />, 404);
    const form = await parseForm(c, z.object({ name: text(120), email, password }));
    if (!form.ok) return render(c, 'Set up Tessera', <SetupForm csrf={csrfToken(c)} errors={form.errors} values={form.values} />, 400);
    const res = await ctx.auth.createOwner(token, form.data, auditCtx(c));
    if (!res.ok) {
      if (res.error === 'password') return render(c, 'Set up Tessera', <SetupForm csrf={csrfToken(c)} errors={{ password: res.message }} values={{ name: form.data.name, email: form.data.email }} />, 400);
      return c.html(<SetupInvalidPage reason={res.error === 'exists' ? 'done' : 'used'} />, 410);
    }
    clearLinkCookie(c, 'setup');
    setSessionCookie(c, res.token);
    return c.redirect('/account/2fa/setup', 303);
  });

  // ---- sign in / out --------------------------------------------------------------------------
  r.get('/login', { kind: 'public' }, (c) => {
    const next = safeNext(c.req.query('next'));
    if (c.get('session')?.mfa_pending === 0) return c.redirect(next, 303);
    const notice = c.req.query('reset') === '1' ? 'Your password was changed. Sign in with the new one.' : c.req.query('bye') === '1' ? 'You are signed out.' : undefined;
    return render(c, 'Sign in', <LoginForm csrf={csrfToken(c)} next={next} notice={notice} />);
  });

  r.post('/login', { kind: 'public' }, async (c) => {
    const ctx = c.get('app');
    const next = safeNext(c.req.query('next'));
    const form = await parseForm(c, z.object({ email: z.string().trim().min(1, 'Required.').max(254, 'At most 254 characters.'), password }));
    if (!form.ok) return render(c, 'Sign in', <LoginForm csrf={csrfToken(c)} next={next} errors={form.errors} values={form.values} />, 400);
    const res = await ctx.auth.login(form.data.email, form.data.password, auditCtx(c), c.get('session'));
    if (!res.ok) {
      const status = res.error === 'invalid' ? 401 : res.error === 'disabled' ? 403 : 429;
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return render(c, 'Sign in', <LoginForm csrf={csrfToken(c)} next={next} message={res.message} values={{ email: form.data.email }} />, status);
    }
    setSessionCookie(c, res.token);
    return c.redirect(res.mfaPending ? `/login/2fa${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` : next, 303);
  });

  const hasSms = (c: Parameters<Parameters<typeof r.get>[2]>[0]) => c.get('user')?.phone_verified_at != null;
  r.get('/login/2fa', { kind: 'mfa-pending' }, (c) =>
    render(c, 'Two-factor authentication', <SecondFactorForm csrf={csrfToken(c)} sms={hasSms(c)} notice={c.req.query('sent') === '1' ? 'We sent a code by SMS. It is valid for 5 minutes.' : undefined} />),
  );

  r.post('/login/2fa/sms', { kind: 'mfa-pending' }, (c) => {
    const res = c.get('app').phone.sendLoginSms(c.get('session')!, auditCtx(c));
    if (!res.ok) {
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return render(c, 'Two-factor authentication', <SecondFactorForm csrf={csrfToken(c)} sms={hasSms(c)} message={res.message} />, 429);
    }
    return c.redirect('/login/2fa?sent=1', 303);
  });

  r.post('/login/2fa', { kind: 'mfa-pending' }, async (c) => {
    const ctx = c.get('app');
    const form = await parseForm(c, z.object({ code: z.string().trim().min(1, 'Required.').max(40) }));
    if (!form.ok) return render(c, 'Two-factor authentication', <SecondFactorForm csrf={csrfToken(c)} sms={hasSms(c)} message="Enter a code." />, 400);
    const res = ctx.auth.secondFactor(c.get('session')!, form.data.code, auditCtx(c));
    if (!res.ok) {
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return render(c, 'Two-factor authentication', <SecondFactorForm csrf={csrfToken(c)} sms={hasSms(c)} message={res.message} />, res.error === 'invalid' ? 401 : 429);
    }
    setSessionCookie(c, res.token);
    return c.redirect(safeNext(c.req.query('next')), 303);
  });

  r.post('/logout', { kind: 'public' }, (c) => {
    const session = c.get('session');
    if (session) c.get('app').auth.logout(session, auditCtx(c));
    clearSessionCookie(c);
    // Whatever the browser kept of the signed-in pages (cache, storage) goes with the session.
    c.header('Clear-Site-Data', '"cache", "storage"');
    return c.redirect('/login?bye=1', 303);
  });

  // ---- password reset and email confirmation --------------------------------------------------------
  r.get('/password/forgot', { kind: 'public' }, (c) => render(c, 'Reset your password', <ForgotForm csrf={csrfToken(c)} sent={false} />));

  r.post('/password/forgot', { kind: 'public' }, async (c) => {
    const form = await parseForm(c, z.object({ email: z.string().trim().min(1).max(254) }));
    const res = form.ok ? c.get('app').emailLinks.requestPasswordReset(form.data.email, auditCtx(c)) : { ok: true as const };
    if (!res.ok) {
      if (res.retryAfterMs) c.header('Retry-After', String(Math.ceil(res.retryAfterMs / 1000)));
      return render(c, 'Reset your password', <ForgotForm csrf={csrfToken(c)} sent={false} message={res.message} />, 429);
    }
    return render(c, 'Reset your password', <ForgotForm csrf={csrfToken(c)} sent={true} />);
  });

  const resetUnusable = (c: C, message = 'This reset link is invalid, expired or already used.') =>
    render(c, 'Reset link', <Notice title="Reset link not usable" kind="error" message={message} link={{ href: '/password/forgot', label: 'Ask for a new link' }} />, 410);

  r.get('/password/reset', { kind: 'public' }, (c) => {
    const hop = exchangeLinkToken(c, 'reset', '/password/reset');
    if (hop) return hop;
    if (!c.get('app').emailLinks.checkResetToken(readLinkCookie(c, 'reset'))) return resetUnusable(c);
    return render(c, 'Choose a new password', <ResetForm csrf={csrfToken(c)} />);
  });

  r.post('/password/reset', { kind: 'public' }, async (c) => {
    const token = readLinkCookie(c, 'reset');
    if (!c.get('app').emailLinks.checkResetToken(token)) return resetUnusable(c);
    const form = await parseForm(c, z.object({ password }));
    if (!form.ok) return render(c, 'Choose a new password', <ResetForm csrf={csrfToken(c)} errors={form.errors} />, 400);
    const res = await c.get('app').emailLinks.resetPassword(token, form.data.password, auditCtx(c));
    if (!res.ok) {
      if (res.error === 'password') return render(c, 'Choose a new password', <ResetForm csrf={csrfToken(c)} errors={{ password: res.message }} />, 400);
      return resetUnusable(c, res.message);
    }
    clearLinkCookie(c, 'reset');
    clearSessionCookie(c);
    return c.redirect('/login?reset=1', 303);
  });

  /**
   * Mail scanners follow links, so the GET only shows a button; the POST confirms (ASVS V3.5.3),
   * as the registration double opt-in does.
   */
  const confirmPurpose = (c: C): 'change' | 'verify' => (c.req.query('change') === '1' ? 'change' : 'verify');
  const confirmUnusable = (c: C, message = 'This confirmation link is invalid, expired or already used.') =>
    render(c, 'Confirmation link', <Notice title="Confirmation link not usable" kind="error" message={message} />, 410);

  r.get('/email/confirm', { kind: 'public' }, (c) => {
    const purpose = confirmPurpose(c);
    const hop = exchangeLinkToken(c, purpose, purpose === 'change' ? '/email/confirm?change=1' : '/email/confirm');
    if (hop) return hop;
    if (!c.get('app').emailLinks.checkConfirmToken(readLinkCookie(c, purpose), purpose === 'change')) return confirmUnusable(c);
    return render(c, 'Confirm your email address', <ConfirmEmailForm csrf={csrfToken(c)} change={purpose === 'change'} />);
  });

  r.post('/email/confirm', { kind: 'public' }, (c) => {
    const purpose = confirmPurpose(c);
    const res = c.get('app').emailLinks.confirmEmail(readLinkCookie(c, purpose), purpose === 'change', auditCtx(c));
    if (!res.ok) return confirmUnusable(c, res.message);
    clearLinkCookie(c, purpose);
    return render(c, 'Email confirmed', <Notice title="Email address confirmed" message="Thank you: your email address is confirmed." link={{ href: '/', label: 'Continue' }} />);
  });

  // ---- account ------------------------------------------------------------------------------------
  const accountPage = (c: Parameters<Parameters<typeof r.get>[2]>[0], extra: Partial<Parameters<typeof AccountPage>[0]> = {}, status: 200 | 400 | 429 = 200) => {
    const ctx = c.get('app');
    const user = ctx.auth.user(c.get('user')!.id)!;
    const flashKey = c.req.query('done');
    const flashes: Record<string, string> = {
      password: 'Password changed. Your other sessions were signed out.',
      email: 'Check the new address: we sent it a confirmation link.',
      '2fa-off': 'Two-factor authentication is off.',
    };
    const flash = flashKey && flashes[flashKey] ? { kind: 'ok' as const, text: flashes[flashKey] } : undefined;
    return render(c, 'Your account', <AccountPage csrf={csrfToken(c)} user={user} recoveryLeft={ctx.totp.recoveryCodesLeft(user.id)} flash={flash} {...extra} />, status);
  };

  r.get('/account', { kind: 'user', enrol: true }, (c) => accountPage(c));

  /** Sensitive changes need a password (+ code) entered in the last 10 minutes. */
  const needsReauth = (c: Parameters<Parameters<typeof r.get>[2]>[0]) => {
    const session = c.get('session');
    if (session && c.get('app').auth.isRecent(session)) return null;
    const back = c.req.method === 'GET' ? c.req.path : '/account';
    return c.redirect(`/account/reauth?next=${encodeURIComponent(back)}`, 303);
  };

  r.get('/account/reauth', { kind: 'user', enrol: true }, (c) =>
    render(c, 'Confirm it is you', <ReauthForm csrf={csrfToken(c)} next={safeNext(c.req.query('next'), '/account')} hasTotp={hasSecondFactor(c.get('user')!)} sms={hasSms(c)} />),
  );

  r.post('/account/reauth/sms', { kind: 'user', enrol: true }, (c) => {
    const next = safeNext(c.req.query('next'), '/account');
    const res = c.get('app').phone.sendLoginSms(c.get('session')!, auditCtx(c));
    if (!res.ok) return render(c, 'Confirm it is you', <ReauthForm csrf={csrfToken(c)} next={next} hasTotp={true} sms={hasSms(c)} message={res.message} />, 429);
    return c.redirect(`/account/reauth?next=${encodeURIComponent(next)}`, 303);
  });

  r.post('/account/reauth', { kind: 'user', enrol: true }, async (c) => {
    const next = safeNext(c.req.query('next'), '/account');
    const form = await parseForm(c, z.object({ password, code: z.string().trim().max(40).default('') }));
    const hasTotp = hasSecondFactor(c.get('user')!);
    if (!form.ok) return render(c, 'Confirm it is you', <ReauthForm csrf={csrfToken(c)} next={next} hasTotp={hasTotp} sms={hasSms(c)} message="Enter your password." />, 400);
    const res = await c.get('app').auth.reauthenticate(c.get('session')!, form.data.password, form.data.code, auditCtx(c));
    if (!res.ok) return render(c, 'Confirm it is you', <ReauthForm csrf={csrfToken(c)} next={next} hasTotp={hasTotp} sms={hasSms(c)} message={res.message} />, res.error === 'invalid' ? 401 : 429);
    setSessionCookie(c, res.token);
    return c.redirect(next, 303);
  });

  /**
   * The forced first enrolment (no second factor yet, and one is required) goes ahead on the
   * sign-in session; any other enrolment needs a recent re-authentication, so a stolen session
   * cannot plant its own authenticator and lock the holder out.
   */
  const forcedEnrolment = (c: C) => {
    const user = c.get('user')!;
    return !hasSecondFactor(user) && (user.instance_role !== null || c.get('app').orgs.userNeeds2fa(user.id));
  };
  const enrolReauth = (c: C) => (forcedEnrolment(c) ? null : requireRecentAuth(c, '/account/2fa/setup'));

  r.get('/account/2fa/setup', { kind: 'user', enrol: true }, async (c) => {
    const ctx = c.get('app');
    const user = c.get('user')!;
    if (user.totp_secret) return c.redirect('/account', 303);
    const redirect = enrolReauth(c);
    if (redirect) return redirect;
    const { secret, uri } = ctx.totp.startTotp(user.id);
    const forced = forcedEnrolment(c);
    return render(c, 'Set up two-factor authentication', <TotpSetup csrf={csrfToken(c)} secret={secret} qr={await qrSvg(uri)} forced={forced} />);
  });

  r.post('/account/2fa/setup', { kind: 'user', enrol: true }, async (c) => {
    const ctx = c.get('app');
    const user = c.get('user')!;
    const redirect = enrolReauth(c);
    if (redirect) return redirect;
    const form = await parseForm(c, z.object({ code: z.string().trim().max(8) }));
    const res = ctx.totp.confirmTotp(c.get('session')!, form.ok ? form.data.code : '', auditCtx(c));
    if (!res.ok) {
      const { secret, uri } = ctx.totp.startTotp(user.id);
      return render(c, 'Set up two-factor authentication', <TotpSetup csrf={csrfToken(c)} secret={secret} qr={await qrSvg(uri)} forced={false} message={res.message} />, 400);
    }
    setSessionCookie(c, res.token);
    return render(c, 'Recovery codes', <RecoveryCodes codes={res.codes} />);
  });

  r.post('/account/2fa/recovery-codes', { kind: 'user' }, (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    const codes = c.get('app').totp.regenerateRecoveryCodes(c.get('user')!.id, auditCtx(c));
    return render(c, 'Recovery codes', <RecoveryCodes codes={codes} />);
  });

  r.post('/account/2fa/disable', { kind: 'user' }, (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    const res = c.get('app').totp.disableTotp(c.get('session')!, auditCtx(c));
    setSessionCookie(c, res.token);
    return c.redirect('/account?done=2fa-off', 303);
  });

  r.get('/account/phone', { kind: 'user', enrol: true }, (c) => {
    const user = c.get('app').auth.user(c.get('user')!.id)!;
    const step = user.phone_verified_at ? 'done' : user.phone_pending && c.req.query('sent') === '1' ? 'confirm' : 'enter';
    return render(c, 'SMS codes', <PhonePage csrf={csrfToken(c)} step={step} phone={user.phone} />);
  });

  r.post('/account/phone', { kind: 'user', enrol: true }, async (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    const form = await parseForm(c, z.object({ phone: z.string().trim().min(1, 'Required.').max(32) }));
    const res = form.ok ? c.get('app').phone.startPhoneEnrolment(c.get('user')!.id, form.data.phone, auditCtx(c)) : ({ ok: false, message: 'Enter a phone number.' } as const);
    if (!res.ok) return render(c, 'SMS codes', <PhonePage csrf={csrfToken(c)} step="enter" message={res.message} />, 'error' in res && res.error !== 'phone' ? 429 : 400);
    return c.redirect('/account/phone?sent=1', 303);
  });

  r.post('/account/phone/confirm', { kind: 'user', enrol: true }, async (c) => {
    const form = await parseForm(c, z.object({ code: z.string().trim().max(8) }));
    const res = c.get('app').phone.confirmPhone(c.get('session')!, form.ok ? form.data.code : '', auditCtx(c));
    if (!res.ok) return render(c, 'SMS codes', <PhonePage csrf={csrfToken(c)} step="confirm" message={res.message} />, 400);
    setSessionCookie(c, res.token);
    return c.redirect('/account/phone', 303);
  });

  r.post('/account/phone/remove', { kind: 'user' }, (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    setSessionCookie(c, c.get('app').phone.removePhone(c.get('session')!, auditCtx(c)).token);
    return c.redirect('/account/phone', 303);
  });

  r.post('/account/password', { kind: 'user' }, async (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    const form = await parseForm(c, z.object({ current: password, password }));
    if (!form.ok) return accountPage(c, { errors: form.errors }, 400);
    const res = await c.get('app').auth.changePassword(c.get('session')!, form.data.current, form.data.password, auditCtx(c));
    if (!res.ok) return accountPage(c, { errors: res.error === 'invalid' ? { current: res.message } : { password: res.message } }, 400);
    setSessionCookie(c, res.token);
    return c.redirect('/account?done=password', 303);
  });

  r.post('/account/email', { kind: 'user' }, async (c) => {
    const redirect = needsReauth(c);
    if (redirect) return redirect;
    const form = await parseForm(c, z.object({ email }));
    if (!form.ok) return accountPage(c, { errors: form.errors, values: form.values }, 400);
    const res = c.get('app').emailLinks.requestEmailChange(c.get('user')!.id, form.data.email, auditCtx(c));
    if (!res.ok) return accountPage(c, { errors: { email: res.message }, values: { email: form.data.email } }, res.error === 'limited' ? 429 : 400);
    return c.redirect('/account?done=email', 303);
  });

  r.get('/account/sessions', { kind: 'user', enrol: true }, (c) => {
    const ctx = c.get('app');
    const session = c.get('session')!;
    return render(c, 'Your sessions', <SessionsPage csrf={csrfToken(c)} sessions={ctx.sessions.list(session.user_id)} currentId={session.id} now={ctx.now()} />);
  });

  r.post('/account/sessions/:id/revoke', { kind: 'user', enrol: true }, (c) => {
    const redirect = requireRecentAuth(c, '/account/sessions');
    if (redirect) return redirect;
    const id = z.string().max(64).parse(c.req.param('id'));
    c.get('app').auth.revokeSession(c.get('user')!.id, id, auditCtx(c));
    return c.redirect('/account/sessions', 303);
  });

  r.post('/account/sessions/revoke-others', { kind: 'user', enrol: true }, (c) => {
    const redirect = requireRecentAuth(c, '/account/sessions');
    if (redirect) return redirect;
    c.get('app').auth.revokeOtherSessions(c.get('session')!, auditCtx(c));
    return c.redirect('/account/sessions', 303);
  });

  return app;
}
