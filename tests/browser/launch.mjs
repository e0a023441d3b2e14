// Headless Chromium for the browser checks (playwright-core), shut in to 127.0.0.1: every
// other address goes to a dead proxy and resolves to nothing. SPKI_PIN in the environment
// (the base64 SHA-256 of a server key's SubjectPublicKeyInfo) makes it trust that one key.
// extra: more command-line flags for one check.
import { chromium } from 'playwright-core';

export function launch(executablePath, extra = []) {
  return chromium.launch({
    executablePath,
    timeout: 30000,
    args: ['--no-sandbox', '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=127.0.0.1',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
           '--disable-background-networking', '--disable-component-update', '--no-first-run',
           ...extra,
           ...(process.env.SPKI_PIN ? [`--ignore-certificate-errors-spki-list=${process.env.SPKI_PIN}`] : [])],
  });
}
