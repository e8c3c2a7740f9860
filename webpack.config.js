// webpack.config.js: bundles the demo PWA (www/) with the wasm package built by `wasm-pack --target bundler` (pkg/) into www/dist, copies its static files and fills in the Service Worker's list of app-shell files.
const fs = require("node:fs");
const path = require("node:path");

const WWW = path.resolve(__dirname, "www");
const STATIC_FILES = ["index.html", "style.css", "manifest.webmanifest", "sw.js", "icons/icon.svg", "icons/icon-192.png", "icons/icon-512.png"];
// The Service Worker's line that lists the app shell: rewritten with this build's files and their hash.
const SHELL_LINE = /^const SHELL = .*;$/m;

/** Copies the demo's static files into the output, so no plugin dependency is needed. */
class CopyStaticPlugin {
  apply(compiler) {
    const { RawSource } = compiler.webpack.sources;
    compiler.hooks.thisCompilation.tap("CopyStaticPlugin", (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: "CopyStaticPlugin", stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        () => {
          for (const file of STATIC_FILES) {
            const abs = path.join(WWW, file);
            compilation.fileDependencies.add(abs);
            // `minimized`: kept as written (sw.js stays readable, and its SHELL line findable).
            compilation.emitAsset(file, new RawSource(fs.readFileSync(abs)), { minimized: true });
          }
        },
      );
    });
  }
}

/**
 * Writes the app shell into sw.js once every asset is final (after minification): the files to
 * precache and a hash of their contents, which names the cache, so each build that changes any
 * file installs a new cache and the worker drops the old one.
 */
class ShellManifestPlugin {
  apply(compiler) {
    const { RawSource } = compiler.webpack.sources;
    compiler.hooks.thisCompilation.tap("ShellManifestPlugin", (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: "ShellManifestPlugin", stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_SUMMARIZE },
        (assets) => {
          const files = Object.keys(assets).filter((f) => f !== "sw.js" && !f.endsWith(".map") && !f.endsWith(".txt")).sort();
          const hash = compiler.webpack.util.createHash("sha256");
          for (const f of files) hash.update(f).update(assets[f].buffer());
          const shell = { version: hash.digest("hex").slice(0, 12), files: ["./", ...files] };
          const sw = assets["sw.js"].source().toString();
          if (!SHELL_LINE.test(sw)) throw new Error("www/sw.js has no `const SHELL = …;` line to fill in");
          compilation.updateAsset("sw.js", new RawSource(sw.replace(SHELL_LINE, () => `const SHELL = ${JSON.stringify(shell)};`)));
        },
      );
    });
  }
}

module.exports = (_env, argv) => ({
  mode: argv.mode ?? "production",
  context: WWW,
  entry: "./index.js",
  output: {
    path: path.join(WWW, "dist"),
    filename: "[name].js",
    webassemblyModuleFilename: "[hash].module.wasm",
    clean: true,
  },
  resolve: {
    // The package's bundler entry, as built here (scripts/build.sh: pkg/).
    alias: { "offline-tables$": path.resolve(__dirname, "pkg") },
  },
  experiments: { asyncWebAssembly: true },
  devtool: argv.mode === "development" ? "source-map" : false,
  performance: { hints: false },
  stats: "minimal",
  plugins: [new CopyStaticPlugin(), new ShellManifestPlugin()],
});
