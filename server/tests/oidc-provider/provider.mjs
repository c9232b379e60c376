// A real OpenID provider (the certified `oidc-provider` package) on loopback, for Writ's
// integration tests and browser journeys. Development use only: its signing keys are the
// package's development keys and its accounts live in memory.
//
// Usage: node provider.mjs '<JSON options>'
//
// Options (all optional):
//   port            port to listen on; 0 or absent picks a free one
//   clients         client registrations, each { client_id, client_secret, redirect_uris }
//   accounts        { "<login>": { password, claims } }; claims go into tokens as they are
//   idTokenClaims   false keeps profile, e-mail and group claims out of the ID token, so that
//                   only the userinfo endpoint returns them (default true)
//   idTokenTtl      ID token lifetime in seconds (default 300)
//   mixup           true also starts a second server whose discovery document names its own
//                   URL as the issuer but lists this provider's endpoints, as a provider mix-up
//                   attack would, and leaves out authorization_response_iss_parameter_supported
//   exitWithStdin   true exits when standard input closes, so the provider ends with the test
//                   process that started it even if that process is killed
//
// Once listening, prints one JSON line to standard output: { "issuer", "mixupIssuer" }.
// Exits on SIGTERM, or when standard input closes if `exitWithStdin` is set.
//
// Besides the OpenID endpoints it serves:
//   GET  /interaction/:uid         a sign-in form (login and password)
//   POST /interaction/:uid/login   checks the password and finishes the sign-in
//   PUT  /test/accounts/:login     replaces one account ({ password, claims }) while running

import http from "node:http";
import { Provider } from "oidc-provider";

const options = JSON.parse(process.argv[2] ?? "{}");
const accounts = new Map(Object.entries(options.accounts ?? {}));

const server = http.createServer();
await new Promise((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (options.clients ?? []).map((client) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    ...client,
  })),
  cookies: { keys: ["writ-test-provider-cookie-key"] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  conformIdTokenClaims: options.idTokenClaims === false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: options.idTokenTtl ?? 300,
    Interaction: 600,
    Session: 3600,
  },
  // Writ is a first-party client: every requested scope and claim is granted without a
  // consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(" ") : "openid");
    grant.addOIDCClaims(["sub", "email", "email_verified", "name", "preferred_username", "groups"]);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, login) {
    if (!accounts.has(login)) {
      return undefined;
    }
    return {
      accountId: login,
      async claims() {
        return { ...(accounts.get(login)?.claims ?? {}), sub: login };
      },
    };
  },
});

provider.use(async (ctx, next) => {
  const interaction = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  const account = ctx.path.match(/^\/test\/accounts\/([\w.@-]+)$/);
  if (interaction && ctx.method === "GET" && !interaction[2]) {
    await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = "html";
    ctx.body = signInPage(interaction[1], "");
  } else if (interaction && ctx.method === "POST" && interaction[2]) {
    const form = new URLSearchParams(await readBody(ctx.req));
    const login = form.get("login") ?? "";
    const known = accounts.get(login);
    if (!known || known.password !== form.get("password")) {
      ctx.status = 401;
      ctx.type = "html";
      ctx.body = signInPage(interaction[1], "Unknown login or wrong password.");
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
  } else if (account && ctx.method === "PUT") {
    accounts.set(account[1], JSON.parse(await readBody(ctx.req)));
    ctx.status = 204;
  } else {
    await next();
  }
});

server.on("request", provider.callback());

let mixupIssuer = null;
if (options.mixup) {
  const front = http.createServer(async (request, response) => {
    if (request.url !== "/.well-known/openid-configuration") {
      response.writeHead(404).end();
      return;
    }
    const upstream = await fetch(`${issuer}/.well-known/openid-configuration`);
    // Without the RFC 9207 flag a client cannot require `iss` in the authorization response,
    // so only the ID token's issuer can reveal the mix-up.
    const { authorization_response_iss_parameter_supported: _, ...metadata } = await upstream.json();
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ ...metadata, issuer: mixupIssuer }));
  });
  await new Promise((resolve) => front.listen(0, "127.0.0.1", resolve));
  mixupIssuer = `http://127.0.0.1:${front.address().port}`;
}

process.stdout.write(`${JSON.stringify({ issuer, mixupIssuer })}\n`);
if (options.exitWithStdin) {
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
process.on("SIGTERM", () => process.exit(0));

function readBody(request) {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => resolve(body));
    request.on("error", reject);
  });
}

function signInPage(uid, error) {
  const message = error ? `<p role="alert">${error}</p>` : "";
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body>
<h1>Test provider sign-in</h1>
${message}
<form method="post" action="/interaction/${uid}/login">
<label>Login <input type="text" name="login" autocomplete="username" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in to the provider</button>
</form>
</body>
</html>
`;
}
