/** The package's version, as `--version`, `/metrics` (`xcmp_build_info`) and logs report it. */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
