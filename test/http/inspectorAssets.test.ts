import { describe, expect, it } from 'vitest';
import { INSPECTOR_CSP, INSPECTOR_CSS, INSPECTOR_HTML, INSPECTOR_JS } from '../../src/http/inspector/assets.js';
import { echo } from './fixtures.js';
import { createSluiceApp } from 'sluice/http';

describe('inspector assets', () => {
  it('inlines the page, its stylesheet and its script as text (not blanked by the loader)', () => {
    expect(INSPECTOR_HTML).toMatch(/^<!doctype html>/);
    expect(INSPECTOR_CSS).toContain('.wf-row');
    expect(INSPECTOR_JS).toContain('function renderWaterfall');
    expect(() => new Function(INSPECTOR_JS)).not.toThrow(); // one script that parses
  });

  it('keeps scripts and styles out of the page so a strict Content-Security-Policy holds', () => {
    expect(INSPECTOR_HTML).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
    expect(INSPECTOR_HTML).toContain('<script src="inspector.js" defer></script>');
    expect(INSPECTOR_CSP).toContain("script-src 'self'");
    expect(INSPECTOR_CSP).not.toContain('unsafe-inline');
  });

  it('serves the script and stylesheet with their content types, without the token', async () => {
    const { fetch } = createSluiceApp({ workflows: [echo], token: 'secret' });
    const js = await fetch(new Request('http://localhost/inspector.js'));
    const css = await fetch(new Request('http://localhost/inspector.css'));
    expect([js.status, js.headers.get('content-type'), await js.text()]).toEqual([200, 'text/javascript; charset=utf-8', INSPECTOR_JS]);
    expect([css.status, css.headers.get('content-type'), await css.text()]).toEqual([200, 'text/css; charset=utf-8', INSPECTOR_CSS]);
    expect((await fetch(new Request('http://localhost/'))).status).toBe(401);
    const page = await fetch(new Request('http://localhost/', { headers: { authorization: 'Bearer secret' } }));
    expect(page.headers.get('content-security-policy')).toBe(INSPECTOR_CSP);
  });
});
