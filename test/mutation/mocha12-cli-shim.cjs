// Preloaded (NODE_OPTIONS=--require) by `npm run test:mutation` only. @stryker-mutator/mocha-runner
// 9.6.1 requires Mocha's cli internals without an extension (lib/cli/run-helpers, options,
// collect-files); Mocha 12 renamed them to .cjs, so the plugin fails to load. Known upstream
// (stryker-js pull request 6205, "load Mocha cli internals regardless of file extension"); remove
// this file when a mocha-runner release with that fix supports Node 20.
const Module = require("node:module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  try {
    return resolve.call(this, request, ...rest);
  } catch (err) {
    if (err && err.code === "MODULE_NOT_FOUND" && /[\\/]mocha[\\/]lib[\\/]cli[\\/][a-z-]+$/.test(request))
      return resolve.call(this, `${request}.cjs`, ...rest);
    throw err;
  }
};
