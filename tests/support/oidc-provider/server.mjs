// A real OpenID provider for the tests: node-oidc-provider (the certified `oidc-provider`
// package), started by tests/support/oidc_provider.py as `node server.mjs CONFIG.json`.
//
// CONFIG.json: {port, cookie_key, users_file, clients: [{client_id, client_secret,
// redirect_uris, post_logout_redirect_uris}]}. The users file, {account: {name, email,
// groups}}, is read at every sign-in, so a test changes someone's groups by rewriting it.
// Its login form is the package's own (devInteractions): any password, the login names
// the account. Consent is taken as given, as a council's own applications are.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(config.users_file, 'utf8'));
const SCOPE = 'openid profile email';

const provider = new Provider(`http://127.0.0.1:${config.port}`, {
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  async findAccount(ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: user.name, email: user.email, groups: user.groups };
      },
    };
  },
  claims: { openid: ['sub'], profile: ['name', 'groups'], email: ['email'] },
  // The groups in the ID token itself, as Entra ID sends them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: [config.cookie_key] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPE);
    await grant.save();
    return grant;
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${provider.issuer}`);
});
