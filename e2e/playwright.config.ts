// Browser journeys run in Debian's Chromium (never a downloaded browser) against a Writ server
// that scripts/e2e.sh starts on loopback and names in WRIT_E2E_URL.
import { defineConfig } from "@playwright/test";

const baseURL = process.env.WRIT_E2E_URL ?? "http://127.0.0.1:3210";

export default defineConfig({
  testDir: "./tests",
  // The journeys share one server and one database, so they run one after another.
  workers: 1,
  fullyParallel: false,
  timeout: 240_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true }, testMatch: /(journey|oidc|approval-mail)\.spec\.ts/ },
    { name: "no-javascript", use: { javaScriptEnabled: false }, testMatch: /no-javascript\.spec\.ts/ },
  ],
});
