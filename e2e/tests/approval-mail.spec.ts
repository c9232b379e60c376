// An approver acts from e-mail: a request is filed, the approval mail reaches a real SMTP
// server on loopback, and the approver opens its link, sees the confirmation page and approves.
import { expect, test } from "@playwright/test";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { createResource, createUser, requestAccess, signIn, signInAsAdmin } from "./console";

/** An SMTP server on the port `writ serve` sends to, keeping every message it receives. */
async function startMailbox(): Promise<{ next: (to: string) => Promise<ParsedMail>; close: () => void }> {
  const port = Number(process.env.WRIT_E2E_SMTP_PORT);
  if (!port) {
    throw new Error("WRIT_E2E_SMTP_PORT is not set; run the journeys through scripts/e2e.sh");
  }
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const next = async (to: string) => {
    let found: ParsedMail | undefined;
    await expect
      .poll(
        () => {
          found = received.find((mail) => JSON.stringify(mail.to).includes(to));
          return found !== undefined;
        },
        { timeout: 60_000, message: `a mail to ${to}` },
      )
      .toBe(true);
    return found as ParsedMail;
  };
  return { next, close: () => server.close() };
}

test("approve a request from the approval mail", async ({ browser }) => {
  const mailbox = await startMailbox();
  try {
    // The first journey to run uses the link `writ serve` printed. A link from the command line
    // replaces it, so the later journeys use those.
    const admin = await signInAsAdmin(browser);
    await createUser(admin, "mira", "Mira Requester", "mira-password-1", ["requester"], "mira@example.test");
    await createUser(admin, "ivan", "Ivan Approver", "ivan-password-1", ["approver"], "ivan@example.test");
    await createResource(admin, "ledger-db", "1h", "Ivan Approver");

    const requester = await signIn(browser, "mira", "mira-password-1");
    const requestUrl = await requestAccess(requester, "ledger-db", "30m", "Reconcile the <b>ledger</b> & close the month");

    const mail = await mailbox.next("ivan@example.test");
    expect(mail.subject).toBe("Approval needed: ledger-db for Mira Requester");
    const link = (mail.text ?? "").match(/http:\/\/\S+\/approve\?token=[\w-]+&decision=approve/)?.[0];
    expect(link, mail.text).toBeTruthy();

    // Opening the link without a session asks for sign-in and decides nothing.
    const approver = await (await browser.newContext()).newPage();
    await approver.goto(link as string);
    await expect(approver.getByRole("heading", { name: "Sign in to review this request" })).toBeVisible();
    await approver.goto("/sign-in");
    await approver.locator('[name="login"]').fill("ivan");
    await approver.locator('[name="password"]').fill("ivan-password-1");
    await approver.getByRole("button", { name: "Sign in" }).click();

    // Signing in comes back to the confirmation page: the request's details and two buttons.
    await expect(approver.getByText("Reconcile the <b>ledger</b> & close the month")).toBeVisible();
    await expect(approver.getByText("You chose Approve in your message")).toBeVisible();
    await approver.getByRole("button", { name: "Approve" }).click();
    await expect(approver.getByText("You approved the request for Mira Requester on ledger-db")).toBeVisible();

    await requester.goto(requestUrl);
    await expect(requester.locator(".page-head .badge")).toHaveText("Approved");
    await expect(requester.getByText("via E-mail link")).toBeVisible();

    // The link works once.
    await approver.goto(link as string);
    await expect(approver.getByRole("heading", { name: "This link cannot be used" })).toBeVisible();
  } finally {
    mailbox.close();
  }
});
