// Parse an Adaptive Card with Microsoft's own library (the npm package `adaptivecards`, pinned in
// package.json), as a Teams client does. Usage: node tests/ci/adaptive_card.mjs < card.json
// Prints one line per problem the parser reports (an unknown element or action, a value a property
// does not take, a card version it does not know) and exits 1 when there is any; else prints the card
// as the library serialises it back, and exits 0.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AC = require("adaptivecards/dist/adaptivecards.js");

const json = JSON.parse(readFileSync(0, "utf8"));
const card = new AC.AdaptiveCard();
const context = new AC.SerializationContext();
card.parse(json, context);
const problems = [];
for (let i = 0; i < context.eventCount; i++) {
  problems.push(context.getEventAt(i).message);
}
for (const event of card.validateProperties().validationEvents) {
  problems.push(event.message);
}
for (const problem of problems) {
  console.log(`adaptive card: ${problem}`);
}
if (!problems.length) {
  console.log(JSON.stringify(card.toJSON()));
}
process.exit(problems.length ? 1 : 0);
