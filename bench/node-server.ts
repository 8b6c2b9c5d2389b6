/**
 * The gate section's JSON-RPC node in a process of its own (bench/gate.ts spawns it): Hardhat's in-process network
 * served over HTTP on 127.0.0.1. A real gate's node is another machine; in the measured process the node's serving
 * of the index's follower (≈ 40 ms of CPU per second at a 250 ms follow interval) was charged to the taps.
 * Prints one line, `{"url": ...}`, once listening; exits when its stdin closes (the parent finished or died).
 */
import { network } from "hardhat";
import { BENCH_HARDFORK } from "./lib.js";

const server = await network.createServer({ override: { hardfork: BENCH_HARDFORK } as never }, "127.0.0.1", 0);
const { address, port } = await server.listen();
process.stdout.write(JSON.stringify({ url: `http://${address}:${port}` }) + "\n");
process.stdin.on("end", () => {
  void server.close().finally(() => process.exit(0));
});
process.stdin.resume();
