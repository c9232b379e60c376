// The just-in-time access loop in the hydrated console: a requester asks, an approver approves,
// the grant becomes active and then expires on time.
import { expect, test } from "@playwright/test";
import { createResource, createUser, reloadUntil, requestAccess, signIn, signInAsAdmin } from "./console";

test("request, approve, see the grant active, then expired", async ({ browser }) => {
  const admin = await signInAsAdmin(browser, "command");
  await createUser(admin, "rita", "Rita Requester", "rita-password-1", ["requester"]);
  await createUser(admin, "arno", "Arno Approver", "arno-password-1", ["approver"]);
  await createResource(admin, "billing-db", "1h", "Arno Approver");

  const requester = await signIn(browser, "rita", "rita-password-1");
  const requestUrl = await requestAccess(requester, "billing-db", "1m", "Rotate the billing export credentials");

  const approver = await signIn(browser, "arno", "arno-password-1");
  await approver.goto("/reviews");
  await approver.getByRole("link", { name: "billing-db" }).first().click();
  await expect(approver.getByText("Rotate the billing export credentials")).toBeVisible();
  await approver.locator('[name="comment"]').fill("Approved for the rotation window");
  await approver.getByRole("button", { name: "Approve" }).click();
  await expect(approver.locator(".page-head .badge")).toHaveText("Approved");

  await requester.goto(requestUrl);
  const grantState = requester.locator("section.grant h2 .badge");
  await reloadUntil(requester, async () => (await grantState.textContent()) === "Active", 30_000);
  await requester.goto("/grants");
  await expect(requester.locator('tr.grant-row[data-state="active"]')).toHaveCount(1);

  // The grant lasts one minute from approval; the expiry job ends it within seconds of that.
  await requester.goto(requestUrl);
  await reloadUntil(requester, async () => (await grantState.textContent()) === "Expired", 120_000);
  await requester.goto("/grants?scope=history");
  await expect(requester.locator('tr.grant-row[data-state="expired"]')).toHaveCount(1);
});
