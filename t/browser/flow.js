'use strict';

// The gate in a real browser, as a person meets it: Debian's chromium
// driven by playwright-core, the QR code read by zbarimg as a phone would
// read it, codes from oathtool.  Started by t/browser.t, which runs nginx
// and Redis and turns what this prints (one JSON object a line) into
// Test::More results:
//
//   {"t":"ok","ok":true,"name":"..."[,"diag":"..."]}   an assertion
//   {"t":"note","msg":"..."}                          a note
//   {"t":"axe","page":"...","view":"...","id":"...","impact":"...",...}
//   {"t":"end"}                                       ran to the end
//
// Environment: TOTP_BASE (http://127.0.0.1:PORT), TOTP_USERS (JSON
// {"name":"password"}), TOTP_SHOTS (directory for the screenshots),
// TOTP_PROFILE (a fresh, empty user-data-dir), TOTP_CHROMIUM (the
// browser, /usr/bin/chromium unless set), TOTP_ISSUER; TOTP_TIMING=1 adds
// the milliseconds since the start to every line.

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const { chromium } = require('playwright-core');

const BASE = process.env.TOTP_BASE;
const USERS = JSON.parse(process.env.TOTP_USERS || '{}');
const SHOTS = process.env.TOTP_SHOTS;
const PROFILE = process.env.TOTP_PROFILE;
const CHROMIUM = process.env.TOTP_CHROMIUM || '/usr/bin/chromium';
const ISSUER = process.env.TOTP_ISSUER;

const START = Date.now();
const VIEWS = [];
for (const width of [375, 1280]) {
    for (const scheme of ['light', 'dark']) {
        VIEWS.push({ width, height: width < 500 ? 812 : 800, scheme });
    }
}

// a deep link with a query, to be landed on again after the sign-in
const DEEP = '/console/app?tab=users&q=a%2Fb';

const CODE_RE = /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/;

// --- reporting ---------------------------------------------------------

function emit(o) {
    if (process.env.TOTP_TIMING) {
        o.ms = Date.now() - START;
    }
    process.stdout.write(JSON.stringify(o) + '\n');
}

function ok(cond, name, diag) {
    const o = { t: 'ok', ok: !!cond, name };
    if (!cond && diag !== undefined) {
        o.diag = typeof diag === 'string' ? diag : JSON.stringify(diag);
    }
    emit(o);
    return !!cond;
}

function is(got, expected, name) {
    return ok(got === expected, name,
              `got: ${JSON.stringify(got)}\n`
              + `expected: ${JSON.stringify(expected)}`);
}

function like(got, re, name) {
    return ok(typeof got === 'string' && re.test(got), name,
              `got: ${JSON.stringify(got)}\nexpected to match: ${re}`);
}

// the answer's status; when it is not the one expected, what the page
// said instead
async function status(res, expected, name) {
    let said = '';
    if (res.status() !== expected) {
        try {
            said = (await res.frame().page().locator('body').innerText())
                .trim().replace(/\s+/g, ' ');
        } catch (e) {
            said = String(e);
        }
    }
    return ok(res.status() === expected, name,
              `got: ${res.status()}\nexpected: ${expected}\npage: ${said}`);
}

function note(msg) {
    emit({ t: 'note', msg });
}

// --- codes and the phone -----------------------------------------------

// oathtool's code for now + offset seconds
function totp(secret, offset = 0) {
    const args = ['--totp', '-b'];
    if (offset) {
        args.push('-N', '@' + (Math.floor(Date.now() / 1000) + offset));
    }
    args.push(secret);
    return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

// six digits that are no code of the secret anywhere near now
function wrongCode(secret, n) {
    const near = new Set();
    for (let s = -3; s <= 3; s++) {
        near.add(totp(secret, s * 30));
    }
    for (let i = 0; ; i++) {
        const c = String((123457 + 100003 * (n + i)) % 1000000)
            .padStart(6, '0');
        if (!near.has(c)) {
            return c;
        }
    }
}

// what a phone's camera reads from a picture of the screen
function scan(png) {
    return execFileSync('zbarimg', ['--raw', '-q', png],
                        { encoding: 'utf8' }).trim();
}

// --- pages -------------------------------------------------------------

const captured = [];        // { name, url, status, html } for the axe runs
const consoleErrors = [];

function watch(page, who) {
    page.on('console', (m) => {
        // a 401 or 429 page is an answer, not an error of the page
        const answer = m.location().url === page.url()
            && /^Failed to load resource: .* status of (401|429) /
                .test(m.text());
        if (m.type() === 'error' && !answer) {
            consoleErrors.push(`${who} ${page.url()}: ${m.text()}`);
        }
    });
    page.on('pageerror', (e) => consoleErrors.push(`${who}: ${e.message}`));
}

// Screenshots of the page as it is now, at each width and scheme, and the
// markup, for the axe runs later.
async function shoot(page, name, httpStatus) {
    const size = page.viewportSize();

    for (const v of VIEWS) {
        await page.setViewportSize({ width: v.width, height: v.height });
        await page.emulateMedia({ colorScheme: v.scheme });
        await page.screenshot({
            path: path.join(SHOTS, `${name}-${v.width}-${v.scheme}.png`),
            fullPage: true,
        });

        if (v.width === 375 && v.scheme === 'light') {
            const wide = await page.evaluate(
                () => document.documentElement.scrollWidth);
            ok(wide <= v.width,
               `${name}: fits 375 px without sideways scrolling`,
               `scrollWidth ${wide}`);
        }
    }

    // the stylesheet arrived under the page's CSP: the card has its
    // background and padding
    const styled = await page.evaluate(() => {
        const card = document.querySelector('main.card');
        return card ? getComputedStyle(card).paddingTop : null;
    });
    ok(styled && styled !== '0px', `${name}: styled (the CSS loaded)`,
       `padding-top of main.card: ${styled}`);

    await page.setViewportSize(size);
    await page.emulateMedia({ colorScheme: 'light' });

    captured.push({ name, url: page.url(), status: httpStatus,
                    html: await page.content() });
}

// Clicks a submit button and returns the answer to the POST it makes.
async function submit(page, button, urlPart) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'
                             && r.url().includes(urlPart)),
        page.locator(button).click(),
    ]);
    await page.waitForLoadState('load');
    return res;
}

async function newContext(browser, options = {}) {
    const context = await browser.newContext({ baseURL: BASE, ...options });
    context.setDefaultTimeout(10000);
    return context;
}

async function cookieNames(context) {
    return (await context.cookies(BASE)).map((c) => c.name).sort();
}

async function text(page) {
    return (await page.locator('body').innerText()).trim();
}

async function login(page, user, password) {
    await page.locator('#user').fill(user);
    await page.locator('#password').fill(password);
    return submit(page, 'button[type="submit"]', '/_totp/login');
}

function upstream(user) {
    return new RegExp(`^upstream user=${user} status=\\S+ uri=`
                      + DEEP.replace(/[?.]/g, '\\$&') + '$');
}

// the id of the element that has the focus, once it is the one expected
// (autofocus applies when the page is rendered, not always by "load")
async function focused(page, id) {
    try {
        await page.waitForFunction(
            (x) => document.activeElement && document.activeElement.id === x,
            id, { timeout: 2000 });
    } catch (e) {
        // the assertion says what has the focus instead
    }
    return page.evaluate(() => document.activeElement
                               && document.activeElement.id);
}

// --- the keyboard ------------------------------------------------------

// Tab (or Shift+Tab) until the element matching selector has the focus;
// checks that a person can see where the focus is.
async function tabTo(page, selector, what, back = false) {
    let presses = 0;

    for (; presses < 25; presses++) {
        const here = await page.evaluate(
            (s) => document.activeElement !== null
                   && document.activeElement.matches(s), selector);
        if (here) {
            break;
        }
        await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    }

    const seen = await page.evaluate(() => {
        const el = document.activeElement;
        const cs = getComputedStyle(el);
        return { visible: el.matches(':focus-visible'),
                 outline: cs.outlineStyle === 'none' ? 0
                          : parseFloat(cs.outlineWidth) };
    });

    ok(presses < 25, `keyboard: ${what} reached with ${back ? 'Shift+' : ''}`
                     + `Tab (${presses} presses)`);
    ok(seen.visible && seen.outline >= 2,
       `keyboard: ${what} shows a focus ring`, seen);
}

// --- the runs ----------------------------------------------------------

async function firstLogin(browser) {
    const context = await newContext(browser);
    const page = await context.newPage();
    watch(page, 'alice');
    const visited = [];
    page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) {
            visited.push(f.url());
        }
    });

    // a deep link, as a bookmark or a link in a mail would open it
    const first = await page.goto(DEEP);
    const hop = first.request().redirectedFrom();
    ok(hop !== null, 'deep link without a session: redirected');
    is(page.url(),
       `${BASE}/_totp/login?next=/console/app%3Ftab%3Dusers%26q%3Da%252Fb`,
       'on the login page, the page asked for in next');
    is(first.status(), 200, 'login page: 200');
    is(await focused(page, 'user'), 'user',
       'login page: the cursor is in the user name field');
    await shoot(page, 'login', 200);

    let res = await login(page, 'alice', USERS.alice);
    await status(res, 302, 'right password: on to the next step');
    await page.waitForURL(/\/_totp\/enroll\?/);
    ok(true, 'not enrolled yet: the enrollment page');
    is(await page.locator('h1').innerText(), 'Set up two-step verification',
       'enrollment page heading');
    await shoot(page, 'enroll', 200);

    // the QR code, read as a phone's camera reads it
    const qr = page.locator('.qr svg');
    is(await qr.count(), 1, 'one QR code, inline SVG');
    // at 1280x800 the whole enrollment fits the window: the code field
    // and its button above the fold, the key to type behind "Can't scan?"
    const fold = await page.locator('button[type="submit"]').boundingBox();
    ok(fold && fold.y + fold.height <= 800,
       'enrollment: the button above the fold at 1280x800',
       fold && `bottom at ${fold.y + fold.height}`);
    ok(!(await page.locator('#totp-secret').isVisible()),
       'the key to type hidden until asked for');
    ok(!(await page.locator('.on-phone').isVisible()),
       'no "open in app" button on a desktop, where it cannot work');
    await page.locator('details.manual summary').click();
    ok(await page.locator('#totp-secret').isVisible(),
       '"Can\'t scan?" shows the key');
    const secret = (await page.locator('#totp-secret').innerText())
        .replace(/\s+/g, '');
    like(secret, /^[A-Z2-7]{32}$/, 'the secret as text: 32 base32 letters');

    const uris = [];
    for (const v of [{ width: 1280, height: 800, scheme: 'light' },
                     { width: 375, height: 812, scheme: 'dark' }]) {
        await page.setViewportSize({ width: v.width, height: v.height });
        await page.emulateMedia({ colorScheme: v.scheme });
        const png = path.join(SHOTS, `qr-${v.width}-${v.scheme}.png`);
        await qr.screenshot({ path: png });
        let uri = '';
        try {
            uri = scan(png);
        } catch (e) {
            note(`zbarimg ${png}: ${e.message}`);
        }
        like(uri, /^otpauth:\/\//,
             `zbarimg reads the QR code at ${v.width} px, ${v.scheme}`);
        uris.push(uri);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    is(uris[1], uris[0], 'the same URI in both schemes');

    let u;
    try {
        u = new URL(uris[0]);
    } catch (e) {
        u = new URL('otpauth://invalid/');
    }
    is(u.protocol + '//' + u.host, 'otpauth://totp', 'an otpauth TOTP URI');
    is(decodeURIComponent(u.pathname), `/${ISSUER}:alice`,
       'label: the issuer prefix and the account');
    is(u.searchParams.get('issuer'), ISSUER, 'issuer= the issuer');
    is(u.searchParams.get('secret'), secret,
       'the same secret as the text under the code');
    is(await page.locator('a[href^="otpauth:"]').getAttribute('href'),
       uris[0], '"Open in authenticator app" links the same URI');

    // the code from the authenticator, then the recovery codes
    const enrolledCode = totp(secret);
    await page.locator('#code').fill(enrolledCode);
    res = await submit(page, 'button[type="submit"]', '/_totp/enroll');
    await status(res, 302, 'the code confirms the enrollment');
    await page.waitForURL(/\/_totp\/codes\?/);
    await page.waitForSelector('#totp-recovery-codes');
    const codes = (await page.locator('#totp-recovery-codes').innerText())
        .trim().split(/\s+/);
    is(codes.length, 10, 'ten recovery codes shown');
    ok(codes.every((c) => CODE_RE.test(c)), 'each like abcde-fghjk', codes);
    is(new Set(codes).size, 10, 'all different');
    ok((await cookieNames(context)).includes('totp_session'),
       'signed in already (session cookie)');
    await shoot(page, 'codes', 200);

    // at 320 px the codes stay inside the card, clear of its border, and
    // nothing of them is cut; printed, the codes without the buttons
    await page.setViewportSize({ width: 320, height: 640 });
    const fit = await page.evaluate(() => {
        const card = document.querySelector('main.card')
            .getBoundingClientRect();
        const codes = document.querySelector('#totp-recovery-codes');
        const box = codes.getBoundingClientRect();
        return { scroll: document.documentElement.scrollWidth,
                 gap: card.right - box.right,
                 whole: codes.scrollWidth <= codes.clientWidth };
    });
    ok(fit.scroll <= 320 && fit.gap >= 8 && fit.whole,
       'codes at 320 px: inside the card, clear of its border, whole',
       JSON.stringify(fit));
    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate(() => {
        const shown = (e) => e.getClientRects().length > 0;
        return { codes: shown(document.querySelector('#totp-recovery-codes')),
                 buttons: [...document.querySelectorAll('.button, button')]
                     .filter(shown).length };
    });
    ok(printed.codes && printed.buttons === 0,
       'printed: the codes, and no button', JSON.stringify(printed));
    await page.emulateMedia({ media: 'screen' });
    await page.setViewportSize({ width: 1280, height: 800 });

    // the codes as a file, as the browser saves it
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download codes.txt' }).click(),
    ]);
    is(download.suggestedFilename(), 'codes.txt', 'the download: codes.txt');
    const saved = fs.readFileSync(await download.path(), 'utf8');
    ok(codes.every((c) => saved.includes(c)), '... with every code', saved);

    // a reload shows them again, until "I saved them"
    await page.reload();
    const again = (await page.locator('#totp-recovery-codes').innerText())
        .trim().split(/\s+/);
    is(again.join(' '), codes.join(' '), 'a reload shows the same codes');

    await page.getByRole('button', { name: 'I saved them, continue' })
        .click();
    await page.waitForURL(BASE + DEEP);
    is(page.url(), BASE + DEEP, 'lands on the page first asked for');
    like(await text(page), upstream('alice'),
         'the console answers, for alice');

    // sign out: the page, its button, the message after
    await page.goto('/_totp/logout');
    like(await text(page), /signed in as alice/i, 'logout page names alice');
    await shoot(page, 'logout', 200);
    res = await submit(page, 'button:text-is("Sign out")', '/_totp/logout');
    is(await page.locator('h1').innerText(), 'You are signed out',
       'signed out: a message page');
    await shoot(page, 'message', res.status());
    ok(!(await cookieNames(context)).includes('totp_session'),
       'the session cookie is gone');

    // the second sign-in: password, code, "trust this browser"
    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    ok(true, 'signed out: the console asks to sign in again');
    res = await login(page, 'alice', USERS.alice);
    await page.waitForURL(/\/_totp\/verify\?/);
    ok(true, 'enrolled: the password leads to the code');
    is(await focused(page, 'code'), 'code',
       'verify page: the cursor is in the code field');
    await shoot(page, 'verify', 200);

    const trust = page.getByLabel('Trust this browser for 30 days');
    is(await trust.count(), 1, '"Trust this browser for 30 days" offered');
    await trust.check();
    // the next step's code, pasted as apps show it ("123 456"): the
    // enrollment's was this step's
    const next = totp(secret, 30);
    await page.locator('#code').fill(next.slice(0, 3) + ' ' + next.slice(3));
    is(await page.locator('#code').inputValue(),
       next.slice(0, 3) + ' ' + next.slice(3),
       'the field takes the code with its space, whole');
    res = await submit(page, 'button[type="submit"]', '/_totp/verify');
    await status(res, 302, 'the code is accepted, space and all');
    await page.waitForURL(BASE + DEEP);
    like(await text(page), upstream('alice'),
         'back on the console, for alice');
    ok((await cookieNames(context)).includes('totp_trust'),
       'trust cookie set');

    // the third sign-in from the trusted browser: the password only
    await page.goto('/_totp/logout');
    await submit(page, 'button:text-is("Sign out")', '/_totp/logout');
    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    const mark = visited.length;
    res = await login(page, 'alice', USERS.alice);
    await page.waitForURL(BASE + DEEP);
    is(page.url(), BASE + DEEP, 'trusted browser: the password alone '
                                + 'leads to the console');
    ok(!visited.slice(mark).some((x) => x.includes('/_totp/verify')),
       '... with no code asked', visited.slice(mark));
    like(await text(page), upstream('alice'), 'the console, for alice');

    // the change of device page, signed in (not sent: it would reset)
    await page.goto('/_totp/reset');
    is(await page.locator('h1').innerText(),
       'Change your authenticator device', 'reset page');
    is(await page.locator('#code').count(), 1,
       'reset asks for a current code');
    await shoot(page, 'reset', 200);

    return { context, page, secret };
}

async function otherBrowser(browser, alice) {
    const context = await newContext(browser);
    const page = await context.newPage();
    watch(page, 'alice (other browser)');

    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    await login(page, 'alice', USERS.alice);
    await page.waitForURL(/\/_totp\/verify\?/);
    ok(true, 'a browser without the trust cookie is asked for a code');
    ok(!(await cookieNames(context)).includes('totp_trust'),
       '... it has no trust cookie');

    // the way to a recovery code, and back
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.waitForURL(/\/_totp\/recovery\?/);
    is(await page.locator('h1').innerText(), 'Use a recovery code',
       'recovery page');
    await shoot(page, 'recovery', 200);
    await page.getByRole('link', { name: 'Enter a code from the app' })
        .click();
    await page.waitForURL(/\/_totp\/verify\?/);
    ok(true, 'and back to the code');

    // five wrong codes: the fifth is the limit
    for (let n = 1; n <= 5; n++) {
        await page.locator('#code').fill(wrongCode(alice.secret, n));
        const res = await submit(page, 'button[type="submit"]',
                                 '/_totp/verify');
        if (n < 5) {
            await status(res, 401, `wrong code ${n}: 401`);
            if (n === 4) {
                like(await page.locator('#error').innerText(),
                     /1 more failed try and sign-in pauses/,
                     'wrong code 4: the last try is announced');
            }
            is(await page.locator('#error[role="alert"]').count(), 1,
               `wrong code ${n}: the error is said`);
            if (n === 1) {
                like(await page.locator('#error').innerText(), /\S/,
                     'the error has words');
                is(await page.locator('#code').getAttribute('aria-invalid'),
                   'true', 'the code field is marked invalid');
                is(await focused(page, 'code'),
                   'code', 'the cursor is back in the code field');
                await shoot(page, 'verify-error', 401);
            }
        } else {
            await status(res, 429, 'wrong code 5: 429');
            like(res.headers()['retry-after'] || '', /^[1-9][0-9]*$/,
                 'Retry-After');
            like(await text(page), /Too many attempts/,
                 'the lockout page: "Too many attempts"');
            like(await text(page), /Try again in \d+ minutes?/,
                 '... and when to try again');
            await shoot(page, 'lockout', 429);
        }
    }

    await context.close();

    // the trusted browser is not held by a lockout others caused
    const p = alice.page;
    await p.goto('/_totp/logout');
    await submit(p, 'button:text-is("Sign out")', '/_totp/logout');
    await p.goto(DEEP);
    await p.waitForURL(/\/_totp\/login\?/);
    const res = await login(p, 'alice', USERS.alice);
    await status(res, 302, 'locked out, the trusted browser still signs in');
    await p.waitForURL(BASE + DEEP);
    like(await text(p), upstream('alice'), '... onto the console');
    await alice.context.close();
}

async function loginError(browser) {
    const context = await newContext(browser);
    const page = await context.newPage();
    watch(page, 'bob');

    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    const res = await login(page, 'bob', 'not-' + USERS.bob);
    await status(res, 401, 'wrong password: 401');
    is(await page.locator('#error[role="alert"]').count(), 1,
       'wrong password: the error is said');
    is(await page.locator('#user').inputValue(), 'bob',
       'the user name is kept');
    is(await page.locator('#password').inputValue(), '',
       'the password is not');
    is(await focused(page, 'password'), 'password',
       'the cursor is in the password field');
    await shoot(page, 'login-error', 401);
    await context.close();
}

// carol's first sign-in with the keyboard alone: Tab, Shift+Tab, Space,
// Enter, and typing
async function keyboard(browser) {
    const context = await newContext(browser);
    const page = await context.newPage();
    watch(page, 'carol');
    const kb = page.keyboard;

    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    await tabTo(page, '#user', 'the user name field');
    await kb.type('carol');
    await tabTo(page, '#password', 'the password field');
    await kb.type(USERS.carol);
    await tabTo(page, 'button[type="submit"]', 'the Continue button');
    await kb.press('Enter');
    await page.waitForURL(/\/_totp\/enroll\?/);
    ok(true, 'keyboard: signed in with the password, on to enrollment');

    const secret = (await page.locator('#totp-secret').textContent())
        .replace(/\s+/g, '');
    await tabTo(page, '#code', 'the code field');
    await kb.type(totp(secret));
    await tabTo(page, 'button[type="submit"]', 'the Verify button');
    await tabTo(page, '#trust', 'the trust checkbox', true);
    await kb.press('Space');
    ok(await page.locator('#trust').isChecked(),
       'keyboard: Space ticks "trust this browser"');
    await tabTo(page, 'button[type="submit"]', 'the Verify button');
    await kb.press('Enter');
    await page.waitForSelector('#totp-recovery-codes');
    ok(true, 'keyboard: enrolled, the recovery codes');
    const codes = (await page.locator('#totp-recovery-codes').innerText())
        .trim().split(/\s+/);

    await tabTo(page, 'form button[type="submit"]',
                'the "I saved them" button');
    await kb.press('Enter');
    await page.waitForURL(BASE + DEEP);
    like(await text(page), upstream('carol'),
         'keyboard: on the console, for carol');
    ok((await cookieNames(context)).includes('totp_trust'),
       'keyboard: the ticked box made a trust cookie');
    await context.close();

    return codes;
}

// carol's lost phone: a recovery code, and the message page after it
async function recovered(browser, codes) {
    const context = await newContext(browser);
    const page = await context.newPage();
    watch(page, 'carol (recovery)');

    await page.goto(DEEP);
    await page.waitForURL(/\/_totp\/login\?/);
    await login(page, 'carol', USERS.carol);
    await page.waitForURL(/\/_totp\/verify\?/);
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.waitForURL(/\/_totp\/recovery\?/);
    await page.locator('#code').fill(codes[0]);
    const res = await submit(page, 'button[type="submit"]',
                             '/_totp/recovery');
    await status(res, 200, 'a recovery code signs carol in');
    like(await text(page), /You have 9 recovery codes left/,
         '... the page says how many are left');
    await shoot(page, 'message-recovered', 200);
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL(BASE + DEEP);
    like(await text(page), upstream('carol'), '... and leads on');
    await context.close();
}

// Each language, as a browser set to it asks: a user of its own goes
// through every page in that language (a wrong password, enrollment, the
// recovery codes, the account page, change of device, forget, sign out
// and its message, a code asked for, a wrong one, the recovery page, the
// lockout), each shot and checked by axe.
async function languages(browser) {
    const words = {
        en: { user: 'dan', heading: 'Your account' },
        fr: { user: 'eve', heading: 'Votre compte' },
        de: { user: 'fay', heading: 'Ihr Konto' },
        it: { user: 'gus', heading: 'Il suo account' },
    };

    for (const lang of Object.keys(words)) {
        const w = words[lang];
        const context = await newContext(browser, { locale: lang });
        const page = await context.newPage();
        watch(page, `${w.user} (${lang})`);

        await page.goto(DEEP);
        await page.waitForURL(/\/_totp\/login\?/);
        is(await page.locator('html').getAttribute('lang'), lang,
           `${lang}: the login page says lang="${lang}"`);
        await shoot(page, `${lang}-login`, 200);

        let res = await login(page, w.user, 'not the password');
        await status(res, 401, `${lang}: a wrong password`);
        await shoot(page, `${lang}-login-error`, 401);

        await login(page, w.user, USERS[w.user]);
        await page.waitForURL(/\/_totp\/enroll\?/);
        const fold = await page.locator('button[type="submit"]')
            .boundingBox();
        ok(fold && fold.y + fold.height <= 800,
           `${lang}: enrollment above the fold at 1280x800`,
           fold && `bottom at ${fold.y + fold.height}`);
        await shoot(page, `${lang}-enroll`, 200);

        const secret = (await page.locator('#totp-secret').textContent())
            .replace(/\s+/g, '');
        await page.locator('#code').fill(totp(secret));
        await submit(page, 'button[type="submit"]', '/_totp/enroll');
        await page.waitForSelector('#totp-recovery-codes');
        await shoot(page, `${lang}-codes`, 200);

        await page.goto('/_totp/');
        is(await page.locator('h1').innerText(), w.heading,
           `${lang}: the account page's heading`);
        await shoot(page, `${lang}-account`, 200);

        for (const name of ['reset', 'forget', 'logout']) {
            await page.goto(`/_totp/${name}`);
            await shoot(page, `${lang}-${name}`, 200);
        }

        res = await submit(page, 'button[type="submit"]:not(.secondary)',
                           '/_totp/logout');
        await status(res, 200, `${lang}: signed out`);
        await shoot(page, `${lang}-message`, 200);

        await page.goto(DEEP);
        await page.waitForURL(/\/_totp\/login\?/);
        await login(page, w.user, USERS[w.user]);
        await page.waitForURL(/\/_totp\/verify\?/);
        await shoot(page, `${lang}-verify`, 200);

        for (let n = 0; n < 5; n++) {
            await page.locator('#code').fill(wrongCode(secret, n));
            res = await submit(page, 'button[type="submit"]',
                               '/_totp/verify');
            if (n === 0) {
                await status(res, 401, `${lang}: a wrong code`);
                await shoot(page, `${lang}-verify-error`, 401);
                await page.locator('a[href*="/_totp/recovery"]').click();
                await page.waitForURL(/\/_totp\/recovery/);
                await shoot(page, `${lang}-recovery`, 200);
                await page.goto('/_totp/verify');
            }
        }
        await status(res, 429, `${lang}: the fifth wrong code, locked`);
        await shoot(page, `${lang}-lockout`, 429);

        await context.close();
    }
}

// axe-core in each page as captured, at each width and scheme.  The
// pages' CSP forbids injected scripts, so these contexts bypass it, and
// the markup a person saw is served again at its own address (a POST's
// answer cannot be fetched again); the stylesheet comes from nginx.  Two
// workers, one per core, share the pages.
async function accessibility(browser) {
    const axe = fs.readFileSync(require.resolve('axe-core/axe.min.js'),
                                'utf8');
    const queue = captured.slice();
    const bad = new Map(captured.map((c) => [c.name, []]));

    const worker = async () => {
        const context = await newContext(browser, { bypassCSP: true });
        const page = await context.newPage();
        let current;

        await page.route('**/*', (route) => {
            if (route.request().isNavigationRequest()) {
                return route.fulfill({
                    status: current.status || 200,
                    contentType: 'text/html; charset=utf-8',
                    body: current.html,
                });
            }
            return route.continue();
        });

        while (queue.length) {
            current = queue.shift();
            await page.goto(current.url);
            await page.addScriptTag({ content: axe });

            for (const v of VIEWS) {
                const view = `${v.width}-${v.scheme}`;
                await page.setViewportSize({ width: v.width,
                                             height: v.height });
                await page.emulateMedia({ colorScheme: v.scheme });
                const r = await page.evaluate(
                    () => window.axe.run(document,
                                         { resultTypes: ['violations'] }));

                if (r.passes.length < 10) {
                    bad.get(current.name).push(
                        `${view}: axe passed only ${r.passes.length} rules`);
                }

                for (const x of r.violations) {
                    const nodes = x.nodes.map((n) => n.target.join(' '));
                    emit({ t: 'axe', page: current.name, view, id: x.id,
                           impact: x.impact, help: x.help, nodes });
                    bad.get(current.name).push(
                        `${view} ${x.id} (${x.impact}): ` + nodes.join(', '));
                }
            }
        }

        await context.close();
    };

    await Promise.all([worker(), worker()]);

    for (const c of captured) {
        ok(bad.get(c.name).length === 0,
           `axe: ${c.name}: no violations`,
           bad.get(c.name).join('\n'));
    }
}

async function main() {
    fs.mkdirSync(SHOTS, { recursive: true });

    const context = await chromium.launchPersistentContext(PROFILE, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu',
               '--disable-background-networking',
               '--disable-component-update', '--no-first-run'],
    });

    try {
        context.setDefaultTimeout(10000);
        const browser = context.browser();
        note(`chromium ${browser.version()}`);

        let t0 = Date.now();
        const lap = (what) => {
            note(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            t0 = Date.now();
        };

        const alice = await firstLogin(browser);
        lap('first login');
        await otherBrowser(browser, alice);
        lap('lockout');
        await loginError(browser);
        const codes = await keyboard(browser);
        lap('keyboard');
        await recovered(browser, codes);
        lap('recovery');
        await languages(browser);
        lap('languages');

        is(consoleErrors.length, 0, 'no errors in the browser console '
                                    + '(CSP violations included)');
        for (const e of consoleErrors) {
            note(e);
        }

        await accessibility(browser);
        lap('axe');
        emit({ t: 'end' });
    } finally {
        await context.close();
    }
}

main().catch((e) => {
    ok(false, 'the browser run went on to its end', e.stack || String(e));
    process.exitCode = 1;
});
