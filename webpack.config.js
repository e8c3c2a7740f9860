// webpack.config.js: bundles the demo PWA (www/) with the wasm package built by `wasm-pack --target bundler` into www/dist.
const fs = require("node:fs");
const path = require("node:path");

const WWW = path.resolve(__dirname, "www");
const STATIC_FILES = ["index.html", "style.css"];

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
            compilation.emitAsset(file, new RawSource(fs.readFileSync(abs)));
          }
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
    alias: { "offline-tables$": path.resolve(__dirname, "pkg") },
  },
  experiments: { asyncWebAssembly: true },
  devtool: argv.mode === "development" ? "source-map" : false,
  performance: { hints: false },
  stats: "minimal",
  plugins: [new CopyStaticPlugin()],
});
