// A real OpenID provider for the tests (the certified `oidc-provider` package), on loopback, with one fixed
// client and fictional users. Its built-in development sign-in page takes any password: the account is the
// login typed. Usage: node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI (tests/support/oidc.py).
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);

// Fictional people only: none of them is, or is named after, a real person.
const ACCOUNTS = {
  'rowan.sso': { email: 'rowan.sso@example.org', email_verified: true, name: 'Rowan Testperson',
                 groups: ['mace-referrers-north'] },
  'sky.unverified': { email: 'sky.unverified@example.org', email_verified: false, name: 'Sky Testperson',
                      groups: [] },
  'kit.new': { email: 'kit.new@example.org', email_verified: true, name: 'Kit Newstarter',
               groups: ['mace-managers-south', 'mace-referrers-north'] },
  'jo.nogroups': { email: 'jo.nogroups@example.org', email_verified: true, name: 'Jo Nogroups', groups: [] },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // As Microsoft Entra ID does: the user's claims in the ID token itself, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, ...account };
      },
    };
  },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
