#!/usr/bin/env bash
# `npm run story:anvil`: the main job's story on anvil (Foundry's node from @foundry-rs/anvil) with 2-second
# blocks, zero gas price and chain id 2026, as a QBFT consortium chain runs; anvil is always stopped, whatever
# happens. Port: ANVIL_PORT (default 18545, away from `npm run node`'s 8545).
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${ANVIL_PORT:-18545}"
node_modules/.bin/anvil --block-time 2 --gas-price 0 --block-base-fee-per-gas 0 --chain-id 2026 --port "$port" --silent &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; wait "$anvil_pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port',{method:'POST',headers:{'content-type':'application/json'},body:'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}'}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  sleep 0.1
done
npm start -- --rpc-url "http://127.0.0.1:$port"
