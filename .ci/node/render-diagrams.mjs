// Renders Mermaid diagrams in headless Chromium the way mermaid-cli's `renderMermaid` does
// (its page, `dist/index.html`, its Mermaid and ZenUML bundles, `mermaid.render` into
// `#container`, the SVG serialized with XMLSerializer), but loads the page once per worker
// instead of once per diagram: mmdc opens a new page and compiles 12 MB of JavaScript for
// every diagram, about 3.5 s of CPU each on this machine class, where the render itself is a
// fraction of that.
//
// Usage: node render-diagrams.mjs CHROMIUM DIAGRAMS.json WORKERS
// DIAGRAMS.json holds an array of diagram texts; stdout gets an array, in the same order, of
// {"svg": "..."} or {"error": "..."} (what `mermaid.render` threw).

import { readFileSync } from 'node:fs'
import path from 'node:path'
import url from 'node:url'
import puppeteer from 'puppeteer-core'

const [chromium, input, workers = '2'] = process.argv.slice(2)
if (!chromium || !input) {
  console.error('usage: node render-diagrams.mjs CHROMIUM DIAGRAMS.json [WORKERS]')
  process.exit(2)
}
const diagrams = JSON.parse(readFileSync(input, 'utf8'))

// The same files mermaid-cli's renderMermaid loads (src/index.js of @mermaid-js/mermaid-cli).
const beside = (specifier, file) =>
  path.join(path.dirname(url.fileURLToPath(import.meta.resolve(specifier))), file)
const page = url.pathToFileURL(beside('@mermaid-js/mermaid-cli', '../dist/index.html')).href
const bundles = [beside('mermaid', 'mermaid.js'), beside('@mermaid-js/mermaid-zenuml', 'mermaid-zenuml.js')]

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  protocolTimeout: 600000,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run']
})

async function worker (indices, results) {
  const tab = await browser.newPage()
  tab.on('console', (msg) => console.error(msg.text()))
  await tab.goto(page)
  for (const bundle of bundles) await tab.addScriptTag({ path: bundle })
  await tab.evaluate(async () => {
    await Promise.all(Array.from(document.fonts, (font) => font.load()))
    const { mermaid, 'mermaid-zenuml': zenuml, elkLayouts } = globalThis
    await mermaid.registerExternalDiagrams([zenuml])
    mermaid.registerLayoutLoaders(elkLayouts)
    mermaid.initialize({ startOnLoad: false })
  })
  for (const i of indices) {
    results[i] = await tab.evaluate(async (definition, id) => {
      const container = document.getElementById('container')
      try {
        const { svg } = await globalThis.mermaid.render(id, definition, container)
        container.innerHTML = svg
        const element = container.getElementsByTagName('svg')[0]
        return { svg: new XMLSerializer().serializeToString(element) }
      } catch (e) {
        return { error: String(e?.message ?? e) }
      } finally {
        container.innerHTML = ''
      }
    }, diagrams[i], `diagram-${i}`)
  }
  await tab.close()
}

const results = new Array(diagrams.length)
const count = Math.max(1, Math.min(Number(workers), diagrams.length))
const shares = Array.from({ length: count }, () => [])
diagrams.forEach((_, i) => shares[i % count].push(i))
try {
  await Promise.all(shares.map((share) => worker(share, results)))
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(results))
