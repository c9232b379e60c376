// Sign-in through the OpenID provider that scripts/e2e.sh runs on loopback: a visitor who requests
// a console page is sent to the provider, signs in there, and lands on that page.
import { expect, test } from "@playwright/test";

const providerUrl = process.env.WRIT_E2E_PROVIDER_URL ?? "http://127.0.0.1:3211";

test("sign in at the identity provider and land on the page first asked for", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();

  await page.goto("/grants?scope=history");

  await expect(page).toHaveURL(new RegExp(`^${providerUrl}/interaction/`));
  await page.locator('[name="login"]').fill("olivia");
  await page.locator('[name="password"]').fill("olivia-provider-password");
  await page.getByRole("button", { name: "Sign in to the provider" }).click();

  await expect(page).toHaveURL(/\/grants\?scope=history$/);
  await expect(page.locator(".viewer-name")).toHaveText("Olivia Provider");
  // The provider's group maps to the requester role, which adds "New request" to the menu.
  await expect(page.getByRole("link", { name: "New request" })).toBeVisible();
});
