// make-seed.mjs: writes demo/seed.json, the demo's data (three technicians' accounts, their work orders, a product catalogue), deterministically.
// Run: node demo/make-seed.mjs. The dates are written for ANCHOR; the server moves them by (now − ANCHOR) when it
// loads the seed ("$anchor"), so a work order modified "12 days ago" stays 12 days old whatever the date.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ANCHOR = Date.parse("2026-11-25T09:00:00Z");
const DAY = 86_400_000;
const TECHNICIANS = ["alice", "bob", "carol"];
const ACCOUNTS_PER_TECHNICIAN = 300;
const WORK_ORDERS = 1500;
const PRODUCTS = 500;

// A fixed-seed generator (mulberry32), so the file only changes when this script does.
let state = 20261125;
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(rand() * list.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pad = (n, width) => String(n).padStart(width, "0");
const iso = (ms) => new Date(Math.round(ms / 60_000) * 60_000).toISOString().replace(".000Z", "Z");

const NAME_A = ["Acme", "Blue Ridge", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
  "Keystone", "Lumen", "Maple", "Northwind", "Orchid", "Pioneer", "Quartz", "Riverside", "Summit", "Tidewater",
  "Union", "Valley", "Westfield", "Yellowstone", "Zenith"];
const NAME_B = ["Plumbing", "Electric", "Bakery", "Clinic", "Logistics", "Hotel", "Dental", "Motors", "Farms", "Labs",
  "Printing", "Roofing", "Cafe", "Fitness", "Pharmacy", "School", "Brewery", "Dairy", "Textiles", "Storage"];
const CITIES = ["Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Marseille", "Toulouse", "Nice", "Rennes", "Strasbourg",
  "Grenoble", "Dijon", "Angers", "Reims", "Tours"];
const STREETS = ["rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue du Moulin", "place de la Gare",
  "rue des Écoles", "chemin des Vignes", "quai Saint-Pierre"];
const CATEGORIES = {
  Filters: ["Air filter", "Water filter", "Oil filter", "HEPA filter"],
  Pumps: ["Circulation pump", "Booster pump", "Drain pump"],
  Valves: ["Ball valve", "Check valve", "Pressure relief valve", "Thermostatic valve"],
  Sensors: ["Temperature sensor", "Pressure sensor", "Flow sensor", "CO₂ sensor"],
  Electrical: ["Contactor", "Circuit breaker", "Relay", "Fuse set", "Terminal block"],
  Controls: ["Thermostat", "Controller board", "Touch panel"],
};
const SIZES = ["S", "M", "L", "XL", "10 mm", "15 mm", "22 mm", "28 mm", "230 V", "24 V"];
const TASKS = ["Annual maintenance", "Replace filter", "Inspect wiring", "Repair leak", "Install unit", "Calibrate sensor",
  "Safety check", "Firmware update", "Replace pump", "Noise complaint", "No heating", "Commissioning visit"];
const NOTES = ["", "", "Customer asks for a morning visit.", "Access code at reception.", "Parts on order.",
  "Bring the ladder.", "Second visit: first fix did not hold.", "Call before arriving.", "Warranty repair."];
// Status by age: old work orders are mostly done, recent ones mostly open.
const statusFor = (ageDays) =>
  ageDays > 20 ? pick(["done", "done", "done", "in-progress"]) : pick(["new", "scheduled", "scheduled", "in-progress", "done"]);

const products = [];
const categoryNames = Object.keys(CATEGORIES);
for (let i = 1; i <= PRODUCTS; i++) {
  const category = categoryNames[i % categoryNames.length];
  products.push({
    id: `prd-${pad(i, 4)}`,
    sku: `${category.slice(0, 3).toUpperCase()}-${pad(int(1000, 9999), 4)}`,
    name: `${pick(CATEGORIES[category])} ${pick(SIZES)}`,
    category,
    price: int(400, 90_000) / 100,
  });
}

const accounts = [];
for (const owner of TECHNICIANS) {
  for (let i = 0; i < ACCOUNTS_PER_TECHNICIAN; i++) {
    const n = accounts.length + 1;
    accounts.push({
      id: `acc-${pad(n, 4)}`,
      name: `${pick(NAME_A)} ${pick(NAME_B)}`,
      city: pick(CITIES),
      address: `${int(1, 180)} ${pick(STREETS)}`,
      phone: `+33 ${int(1, 5)} ${pad(int(0, 99), 2)} ${pad(int(0, 99), 2)} ${pad(int(0, 99), 2)} ${pad(int(0, 99), 2)}`,
      ownerId: owner,
    });
  }
}

// About one in six work orders is older than the profile's 30-day window, so it stays on the server.
const workorders = [];
for (let i = 1; i <= WORK_ORDERS; i++) {
  const ageDays = rand() < 0.16 ? int(31, 90) : int(0, 29);
  const modifiedOn = ANCHOR - ageDays * DAY - int(0, 10 * 60) * 60_000;
  workorders.push({
    id: `wo-${pad(i, 5)}`,
    accountId: pick(accounts).id,
    title: pick(TASKS),
    status: statusFor(ageDays),
    notes: pick(NOTES),
    productId: pick(products).id,
    // A date-time, not a plain date: the server only moves date-times by the anchor.
    scheduledFor: iso(Math.floor(modifiedOn / DAY) * DAY + int(1, 14) * DAY + int(7, 16) * 3_600_000),
    modifiedOn: iso(modifiedOn),
  });
}

// One row a line: a diff of this file stays readable.
const table = (rows) => `[\n${rows.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n ]`;
const text = `{\n "$anchor": ${JSON.stringify(iso(ANCHOR))},\n`
  + ` "accounts": ${table(accounts)},\n "workorders": ${table(workorders)},\n "products": ${table(products)}\n}\n`;
const out = fileURLToPath(new URL("seed.json", import.meta.url));
writeFileSync(out, text);
console.log(`${out}: ${accounts.length} accounts, ${workorders.length} work orders, ${products.length} products`);
