/** The quiver CLI with the engine-test stages registered, for tests that need a real process. */
import { main } from "../../cli/main.js";
import { testRegistry } from "./test-stages.js";

main(process.argv.slice(2), undefined, testRegistry).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 70;
  },
);
