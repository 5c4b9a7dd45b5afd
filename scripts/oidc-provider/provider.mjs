// A real OpenID provider for Wharf's tests: panva's oidc-provider with the
// configured clients and users, the authorization code flow with PKCE (S256)
// required, and a small login page of its own (devInteractions are off).
//
// Configuration is JSON, from the first argument or else the environment
// variable WHARF_OIDC_CONFIG:
//
//   {"port": 0,
//    "clients": [{"client_id": "wharf", "client_secret": "…", "redirect_uris": ["http://127.0.0.1:8080/cb"]}],
//    "users": [{"sub": "u1", "password": "pw", "email": "a@example.com", "name": "A",
//               "preferred_username": "a", "groups": ["dev"]}]}
//
// Port 0 picks a free port. Once listening on 127.0.0.1 it prints exactly one
// line, {"issuer":"http://127.0.0.1:PORT"}, to stdout. It exits when stdin
// closes (so it dies with the test that started it) or on SIGTERM.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? process.env.WHARF_OIDC_CONFIG ?? '{}');
const users = new Map((config.users ?? []).map((u) => [u.sub, u]));

// The login field accepts a user's sub, preferred_username or email.
function findUser(login) {
  for (const u of users.values()) {
    if (login && (login === u.sub || login === u.preferred_username || login === u.email)) return u;
  }
  return undefined;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
}

function newProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 knows
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // Put the scopes' claims in the ID token itself, not only behind userinfo:
    // the relying party reads groups from the ID token.
    conformIdTokenClaims: false,
    async findAccount(ctx, sub) {
      const u = users.get(sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            name: u.name,
            preferred_username: u.preferred_username,
            email: u.email,
            email_verified: u.email_verified ?? Boolean(u.email),
            groups: u.groups ?? [],
          };
        },
      };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider: server_error:', err));
  return provider;
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, login, error) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to the test provider</title></head>
<body>
<h1>Sign in to the test provider</h1>
${error ? `<p id="error" role="alert">${escapeHTML(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${escapeHTML(uid)}">
  <label>Login <input name="login" autocomplete="username" value="${escapeHTML(login)}" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button id="submit" type="submit">Sign in</button>
</form>
<form id="cancel-form" method="post" action="/interaction/${escapeHTML(uid)}/cancel">
  <button id="cancel" type="submit">Cancel</button>
</form>
</body></html>
`;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 8192) throw Object.assign(new Error('form too large'), { statusCode: 413 });
  }
  return new URLSearchParams(body);
}

// Consent is granted at once for whatever the configured client asked.
async function grantConsent(provider, req, res, interaction) {
  const { prompt: { details }, params, session, grantId } = interaction;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (action === 'cancel' && req.method === 'POST') {
    const result = { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action !== '' || !['GET', 'POST'].includes(req.method)) {
    return send(res, 405, 'text/plain', 'method not allowed\n');
  }
  if (details.prompt.name === 'consent') return grantConsent(provider, req, res, details);
  if (details.prompt.name !== 'login') return send(res, 501, 'text/plain', `prompt ${details.prompt.name} not implemented\n`);
  if (req.method === 'GET') return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, '', ''));

  const form = await readForm(req);
  const login = form.get('login') ?? '';
  const user = findUser(login);
  if (!user || user.password !== form.get('password')) {
    return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, login, 'Invalid login or password.'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: user.sub } });
}

const server = createServer();
server.listen(config.port ?? 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = newProvider(issuer);
  const handle = provider.callback();
  server.on('request', async (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(cancel))?$/.exec(new URL(req.url, issuer).pathname);
    if (!m) return handle(req, res);
    try {
      await interaction(provider, req, res, m[1], m[2] ?? '');
    } catch (err) {
      console.error('oidc-provider: interaction:', err);
      if (!res.headersSent) send(res, err.statusCode ?? 500, 'text/plain', `${err.message}\n`);
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
