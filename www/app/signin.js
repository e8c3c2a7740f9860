// signin.js: the sign-in screen: pick one of the reference server's development users.
import { h } from "./dom.js";
import { USERS, signIn } from "./session.js";

export function signInView(root) {
  root.replaceChildren(h("section.panel.signin", {},
    h("h2", {}, "Sign in"),
    h("p.muted", {}, "Pick a demo technician. Their accounts and work orders are downloaded to this device and stay usable offline."),
    h("ul.users", {}, USERS.map((u) => h("li", {},
      h("button.user", {
        type: "button", dataset: { user: u.id },
        onclick: () => { signIn(u); location.reload(); },
      }, h("strong", {}, u.name), h("span.muted.small", {}, `${u.id} · ${u.token}`)))))));
}
