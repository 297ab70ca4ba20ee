// Counting client app for e2e pods: `node test/images/apps/tally.ts <url> <count>`
// sends `count` GETs one after another and prints one JSON line: how many
// answers each app version gave (the echo's x-app header), and every failure,
// so a test measures a traffic split through the mesh from inside a pod.
const [url, countText = "100"] = process.argv.slice(2);
if (url === undefined) {
  console.error("usage: tally.ts <url> <count>");
  process.exit(2);
}
const by: Record<string, number> = {};
const failures: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    if (res.status !== 200) failures.push(`status ${res.status}`);
    else {
      const app = res.headers.get("x-app") ?? "?";
      by[app] = (by[app] ?? 0) + 1;
    }
  } catch (err) {
    failures.push((err as Error).message);
  }
}
console.log(JSON.stringify({ by, failures }));
