// Steps shared by the journeys: signing in, creating users and resources through the console.
import { expect, type Browser, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Returns the one-time sign-in link `writ serve` printed for the bootstrap administrator. */
export function bootstrapLink(): string {
  const log = process.env.WRIT_E2E_LOG;
  if (!log) {
    throw new Error("WRIT_E2E_LOG is not set; run the journeys through scripts/e2e.sh");
  }
  const match = readFileSync(log, "utf8").match(/https?:\/\/\S+\/sign-in\/link\?token=[\w-]+/);
  if (!match) {
    throw new Error(`no sign-in link in ${log}`);
  }
  return match[0];
}

/** Returns a fresh one-time sign-in link for the bootstrap administrator from `writ sign-in-link`. */
export function cliLink(): string {
  const bin = process.env.WRIT_E2E_BIN;
  const databaseUrl = process.env.WRIT_E2E_DATABASE_URL;
  if (!bin || !databaseUrl) {
    throw new Error("WRIT_E2E_BIN and WRIT_E2E_DATABASE_URL are not set; run the journeys through scripts/e2e.sh");
  }
  const output = execFileSync(bin, ["sign-in-link", "--login", "admin", "--public-url", process.env.WRIT_E2E_URL ?? ""], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: "utf8",
  });
  const match = output.match(/https?:\/\/\S+\/sign-in\/link\?token=[\w-]+/);
  if (!match) {
    throw new Error(`writ sign-in-link printed no link: ${output}`);
  }
  return match[0];
}

/** Opens a new browser context signed in as the bootstrap administrator, through the link that
 * `writ serve` printed or, when `link` says so, a new one from the command line. */
export async function signInAsAdmin(browser: Browser, link: "printed" | "command" = "printed"): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(link === "printed" ? bootstrapLink() : cliLink());
  await expect(page.getByText("This link signs you in as")).toBeVisible();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  return page;
}

/** Opens a new browser context signed in with a local password. */
export async function signIn(browser: Browser, login: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto("/sign-in");
  await page.locator('[name="login"]').fill(login);
  await page.locator('[name="password"]').fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  return page;
}

/** Creates a local user with a password, the given role labels and an optional e-mail address,
 * as an admin. */
export async function createUser(admin: Page, login: string, name: string, password: string, roles: string[], email = "") {
  await admin.goto("/admin/users");
  await admin.locator('[name="input[login]"]').fill(login);
  await admin.locator('[name="input[display_name]"]').fill(name);
  if (email) {
    await admin.locator('[name="input[email]"]').fill(email);
  }
  for (const role of roles) {
    await admin.locator(`[name="input[roles][]"][value="${role}"]`).check();
  }
  await admin.locator('[name="input[password]"]').fill(password);
  await admin.getByRole("button", { name: "Create user" }).click();
  await expect(admin.getByText(`Created ${name}.`)).toBeVisible();
}

/** Creates a resource approved by `approverName`, with a maximum duration. */
export async function createResource(admin: Page, name: string, maxDuration: string, approverName: string) {
  await admin.goto("/resources/new");
  await admin.locator('[name="input[name]"]').fill(name);
  await admin.locator('[name="input[target]"]').fill(`${name}.internal`);
  await admin.locator('[name="input[role]"]').fill("admin");
  await admin.locator('[name="input[sensitivity]"]').selectOption("medium");
  await admin.locator('[name="input[max_duration]"]').fill(maxDuration);
  await admin.locator('[name="input[required_approvals]"]').fill("1");
  await admin.locator('[name="input[approvers][]"]').selectOption({ label: `${approverName} (user)` });
  await admin.getByRole("button", { name: "Add resource" }).click();
  await expect(admin.getByRole("heading", { name: "Resources" })).toBeVisible();
  await expect(admin.getByRole("cell", { name, exact: true })).toBeVisible();
}

/** Files a request for oneself and returns the request page's URL. */
export async function requestAccess(requester: Page, resource: string, duration: string, reason: string): Promise<string> {
  await requester.goto("/requests/new");
  const option = requester.locator('[name="input[resource_id]"] option', { hasText: resource });
  await requester.locator('[name="input[resource_id]"]').selectOption((await option.getAttribute("value")) ?? "");
  await requester.locator('[name="input[duration]"]').fill(duration);
  await requester.locator('[name="input[reason]"]').fill(reason);
  await requester.locator('[name="input[ticket]"]').fill("OPS-42");
  await requester.getByRole("button", { name: "Submit request" }).click();
  await expect(requester).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  await expect(requester.locator(".page-head .badge")).toHaveText("Pending");
  return requester.url();
}

/** Reloads `page` until `check` passes or `timeoutMs` runs out. */
export async function reloadUntil(page: Page, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms on ${page.url()}`);
    }
    await page.waitForTimeout(1_000);
    await page.reload();
  }
}
