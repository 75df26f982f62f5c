// Entry point of the `nnunet` command.
import { main } from './program.js';

const code = await main(process.argv.slice(2));
// libtorch's and worker threads' handles would otherwise keep the process alive
process.exit(code);
