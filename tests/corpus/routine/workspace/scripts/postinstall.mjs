import { readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
console.log(`${pkg.name}@${pkg.version} installed`);
