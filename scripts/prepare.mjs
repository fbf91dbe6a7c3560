// npm's `prepare` (run after `npm install` in a checkout and when the package is installed from
// git): builds dist/ so a git install works as installed. `npm pack` and `npm publish` build in
// `prepack` already, so they skip it here.
import { execSync } from 'node:child_process';

if (['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
execSync('npm run build', { stdio: 'inherit' });
