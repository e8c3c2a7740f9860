// photo.js: a work order's photo: taken or picked on the device (online or offline), kept in the store with the row and uploaded by sync after the row's change (table.putFile / getFile / deleteFile; docs/protocol.md §11).
import { h } from "./dom.js";

const kb = (bytes) => (bytes < 1e6 ? `${Math.max(1, Math.round(bytes / 1000))} kB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** The photo panel of work order `id`: the picture, and buttons to take, replace or remove it; `refresh` shows the
 * upload's progress again (on every sync status change). */
export function photoPanel(ctx, id) {
  const table = ctx.store.table("workorders");
  const img = h("img.photo", { alt: "Work order photo", hidden: true });
  const info = h("p.muted.small", { id: "photo-info" });
  const input = h("input", { type: "file", accept: "image/*", capture: "environment", id: "photo-input", hidden: true });
  const remove = h("button.ghost.small", { type: "button", id: "photo-remove", hidden: true }, "Remove");
  let url = null;
  async function show() {
    const blob = await table.getFile(id, "photo").catch(() => undefined);
    if (url) URL.revokeObjectURL(url);
    url = blob ? URL.createObjectURL(blob) : null;
    img.hidden = !blob;
    remove.hidden = !blob;
    if (url) img.src = url;
    const pending = ctx.store.status()?.files?.pending ?? 0;
    info.textContent = blob
      ? `${kb(blob.size)}${pending > 0 ? ` · ${pending} photo${pending === 1 ? "" : "s"} waiting to upload` : ""}`
      : "No photo yet.";
  }
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    try {
      await table.putFile(id, "photo", file);
      ctx.toast(navigator.onLine ? "Photo saved" : "Photo saved on this device: it uploads when the connection returns");
      ctx.store.sync().catch(() => {});
    } catch (e) {
      ctx.toast(`${e.code ?? "error"}: ${e.message}`, "error");
    }
    input.value = "";
    show();
  });
  remove.addEventListener("click", async () => {
    try {
      await table.deleteFile(id, "photo");
      ctx.store.sync().catch(() => {});
    } catch (e) {
      ctx.toast(`${e.code ?? "error"}: ${e.message}`, "error");
    }
    show();
  });
  show();
  const el = h("section.panel.photo", { id: "photo" },
    h("h3", {}, "Photo"), img, info,
    h("div.actions", {}, h("button.small", { type: "button", id: "photo-take", onclick: () => input.click() }, "Take or pick a photo"), remove),
    input);
  return { el, refresh: show };
}
