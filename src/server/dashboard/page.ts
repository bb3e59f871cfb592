import { loadAssets } from "./assets.js";

/** `</script` inside inlined code would end the element early. */
const safeScript = (code: string): string => code.replace(/<\/(script)/gi, "<\\/$1");

/**
 * The dashboard: one HTML page with its chart library, script and style inlined (no CDN, works
 * offline). It holds no data: its script asks for the admin token (kept in sessionStorage, never
 * in the URL) and reads everything from `/admin/*` with `Authorization: Bearer <token>`.
 */
export function dashboardPage(): string {
  const assets = loadAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelgate dashboard</title>
<style>${assets.chartCss}</style>
<style>${assets.appCss}</style>
</head>
<body>
<main id="app"><p class="muted">Loading…</p></main>
<script>${safeScript(assets.chartJs)}</script>
<script>${safeScript(assets.appJs)}</script>
</body>
</html>
`;
}
