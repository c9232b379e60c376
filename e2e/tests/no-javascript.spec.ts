// The console with JavaScript disabled: every action is a plain form post to a server function.
import { expect, test } from "@playwright/test";
import { createResource, createUser, requestAccess, signIn, signInAsAdmin } from "./console";

test("request and approve with plain forms", async ({ browser }) => {
  const admin = await signInAsAdmin(browser, "command");
  await createUser(admin, "nora", "Nora Requester", "nora-password-1", ["requester"]);
  await createUser(admin, "otto", "Otto Approver", "otto-password-1", ["approver"]);
  await createResource(admin, "search-cluster", "2h", "Otto Approver");

  const requester = await signIn(browser, "nora", "nora-password-1");
  // A duration over the maximum comes back as an error that names the maximum.
  await requester.goto("/requests/new");
  const option = requester.locator('[name="input[resource_id]"] option', { hasText: "search-cluster" });
  await requester.locator('[name="input[resource_id]"]').selectOption((await option.getAttribute("value")) ?? "");
  await requester.locator('[name="input[duration]"]').fill("3h");
  await requester.locator('[name="input[reason]"]').fill("Reindex after the schema change");
  await requester.getByRole("button", { name: "Submit request" }).click();
  await expect(requester.getByRole("alert")).toContainText("at most 2h");

  const requestUrl = await requestAccess(requester, "search-cluster", "30m", "Reindex after the schema change");

  const approver = await signIn(browser, "otto", "otto-password-1");
  await approver.goto(requestUrl);
  await approver.getByRole("button", { name: "Approve" }).click();
  await expect(approver.locator(".page-head .badge")).toHaveText("Approved");

  // Approving again is refused with a clear message, not a second grant.
  await requester.goto(requestUrl);
  await expect(requester.getByText("You cannot review this request")).toBeVisible();
});
