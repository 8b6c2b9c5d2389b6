import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Wallet, decodeRlp, getAddress } from "ethers";
import yaml from "js-yaml";
import { CivilIdError } from "../../../sdk/errors.js";
import {
  BFT_MIX_HASH,
  DEFAULT_GAS_LIMIT,
  buildConsortiumFiles,
  faultTolerance,
  parseConsortiumInput,
  qbftExtraData,
  qbftQuorum,
  writeConsortiumFiles,
  type ConsortiumConfig,
} from "../../../ops/consortium/index.js";

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const EXAMPLE = path.join(ROOT, "ops/consortium/example.json");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const SCRIPT = path.join(ROOT, "ops/consortium/generate.ts");

// Deterministic node keys for the tests (test-only secrets, never used anywhere else).
const KEYS = [1, 2, 3, 4, 5].map((i) => new Wallet(`0x${i.toString(16).padStart(2, "0").repeat(32)}`));
const pub = (w: Wallet) => w.signingKey.publicKey.slice(4); // 128 hex digits, as `besu public-key export`

function ministry(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `ministry-${i}`,
    agencyCode: 1_100_000 + i * 1000,
    nodePublicKey: pub(KEYS[i]!),
    host: `node${i}.civil-id.internal`,
    p2pPort: 30303,
    rpcPort: 8545,
    rpc: i === 0,
    ...overrides,
  };
}

function baseInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chainId: 20251127,
    blockPeriodSeconds: 2,
    epochLength: 30000,
    requestTimeoutSeconds: 4,
    ministries: [0, 1, 2, 3].map((i) => ministry(i)),
    accounts: [{ name: "deployer", address: Wallet.createRandom().address }],
    ...overrides,
  };
}

async function refused(input: unknown, ...fragments: string[]): Promise<CivilIdError> {
  try {
    await parseConsortiumInput(input, { readKeyFile: async (f) => readFile(f, "utf8") });
  } catch (error) {
    expect(error).to.be.instanceOf(CivilIdError);
    const e = error as CivilIdError;
    expect(e.code).to.equal("INVALID_INPUT");
    for (const fragment of fragments) expect(e.message).to.include(fragment);
    return e;
  }
  expect.fail(`input was accepted, expected refusal mentioning ${fragments.join(" / ")}`);
}

/** Our TOML is a JSON-compatible subset: `key=value` lines whose value parses as JSON. */
function parseToml(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z][A-Za-z0-9-]*)=(.*)$/.exec(line);
    expect(m, `malformed TOML line: ${line}`).to.not.equal(null);
    expect(out, `duplicate key ${m![1]}`).to.not.have.property(m![1]!);
    out[m![1]!] = JSON.parse(m![2]!);
  }
  return out;
}

function validatorsOf(extraData: string): string[] {
  const decoded = decodeRlp(extraData) as unknown[];
  return (decoded[1] as string[]).map((a) => getAddress(a));
}

describe("consortium: Besu QBFT genesis and node configuration", () => {
  describe("extraData", () => {
    it("encodes exactly RLP([32 zero bytes, validators in the given order, [], 0x, []])", () => {
      const validators = [KEYS[3]!, KEYS[0]!, KEYS[2]!, KEYS[1]!].map((w) => w.address); // deliberately unsorted
      const decoded = decodeRlp(qbftExtraData(validators)) as unknown[];
      expect(decoded).to.have.length(5);
      expect(decoded[0]).to.equal(`0x${"00".repeat(32)}`);
      expect(decoded[1]).to.deep.equal(validators.map((v) => v.toLowerCase()));
      expect(decoded[2]).to.deep.equal([]); // no vote: an empty list, as Besu's QbftExtraDataCodec writes it
      expect(decoded[3]).to.equal("0x"); // round 0 as an RLP integer scalar: the empty byte string
      expect(decoded[4]).to.deep.equal([]); // no commit seals in the genesis header
    });

    it("matches the extraData of Besu's published QBFT genesis example byte for byte", () => {
      const besuDocsValidators = [
        "0x64a702e6263b7297a96638cac6ae65e6541f4169",
        "0x3923390ad55e90c237593b3b0e401f3b08a03185",
        "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
        "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
      ];
      expect(qbftExtraData(besuDocsValidators)).to.equal(
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854" +
          "9464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a03185" +
          "94aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0",
      );
    });

    it("refuses an empty, malformed or duplicated validator list", () => {
      expect(() => qbftExtraData([])).to.throw(CivilIdError, "at least one validator");
      expect(() => qbftExtraData(["0x1234"])).to.throw(CivilIdError, "not a validator address");
      const a = KEYS[0]!.address;
      expect(() => qbftExtraData([a, a.toLowerCase()])).to.throw(CivilIdError, "distinct");
    });
  });

  describe("genesis.json", () => {
    it("has the QBFT config, free gas, forks up to Cancun at 0 and the validators of the input", async () => {
      const funded = Wallet.createRandom().address;
      const config = await parseConsortiumInput(
        baseInput({
          accounts: [
            { name: "deployer", address: KEYS[4]!.address },
            { name: "funded", address: funded, balance: "1000000000000000000" },
            { name: "hex-funded", address: Wallet.createRandom().address, balance: "0x10" },
          ],
        }),
      );
      const genesis = JSON.parse(buildConsortiumFiles(config).files.get("genesis.json")!);
      expect(genesis.config.chainId).to.equal(20251127);
      expect(genesis.config.qbft).to.deep.equal({ blockperiodseconds: 2, epochlength: 30000, requesttimeoutseconds: 4 });
      expect(genesis.config.zeroBaseFee).to.equal(true);
      for (const fork of ["homesteadBlock", "byzantiumBlock", "petersburgBlock", "istanbulBlock", "berlinBlock", "londonBlock", "shanghaiTime", "cancunTime"]) {
        expect(genesis.config[fork], fork).to.equal(0);
      }
      expect(genesis.config).to.not.have.property("pragueTime"); // contracts target Cancun
      expect(genesis.config).to.not.have.property("clique");
      expect(genesis.config).to.not.have.property("ibft2");
      expect(genesis.mixHash).to.equal(BFT_MIX_HASH);
      expect(genesis.difficulty).to.equal("0x1");
      expect(genesis.baseFeePerGas).to.equal("0x0");
      expect(genesis.timestamp).to.equal("0x0");
      expect(BigInt(genesis.gasLimit)).to.equal(DEFAULT_GAS_LIMIT);
      expect(validatorsOf(genesis.extraData)).to.deep.equal([0, 1, 2, 3].map((i) => KEYS[i]!.address));
      // Only accounts with a balance are in alloc; the deployer needs none (gas is free).
      expect(genesis.alloc).to.deep.equal({
        [funded.toLowerCase().slice(2)]: { balance: "0xde0b6b3a7640000", comment: "funded" },
        [config.accounts[2]!.address.toLowerCase().slice(2)]: { balance: "0x10", comment: "hex-funded" },
      });
    });

    it("honours gasLimit and genesisTimestamp and is deterministic for the same input", async () => {
      const input = baseInput({ gasLimit: "0x3b9aca00", genesisTimestamp: 1764201600 });
      const a = buildConsortiumFiles(await parseConsortiumInput(input));
      const b = buildConsortiumFiles(await parseConsortiumInput(input));
      const genesis = JSON.parse(a.files.get("genesis.json")!);
      expect(genesis.gasLimit).to.equal("0x3b9aca00");
      expect(genesis.timestamp).to.equal(`0x${(1764201600).toString(16)}`);
      expect(a.genesisSha256).to.equal(b.genesisSha256);
      expect(a.files.get("genesis.json")).to.equal(b.files.get("genesis.json"));
    });
  });

  describe("per-node files", () => {
    let config: ConsortiumConfig;
    let files: ReadonlyMap<string, string>;
    before(async () => {
      config = await parseConsortiumInput(baseInput({ ministries: [0, 1, 2, 3].map((i) => ministry(i, { metricsPort: i === 2 ? 9545 : undefined })) }));
      files = buildConsortiumFiles(config).files;
    });

    it("writes config.toml, static-nodes.json and permissions_config.toml for every ministry and nothing else", () => {
      const expected = ["genesis.json", "docker-compose.yml", "network.json"];
      for (let i = 0; i < 4; i++) {
        for (const f of ["config.toml", "static-nodes.json", "permissions_config.toml"]) expected.push(`nodes/ministry-${i}/${f}`);
      }
      expect([...files.keys()].sort()).to.deep.equal(expected.sort());
    });

    it("config.toml: ports, free gas, static peers, permissioning, RPC exposure per node", () => {
      for (let i = 0; i < 4; i++) {
        const toml = parseToml(files.get(`nodes/ministry-${i}/config.toml`)!);
        expect(toml["identity"]).to.equal(`ministry-${i}`);
        expect(toml["data-path"]).to.equal("/opt/besu/data");
        expect(toml["genesis-file"]).to.equal("/etc/besu/genesis.json");
        expect(toml["node-private-key-file"]).to.equal("/etc/besu/key");
        expect(toml["p2p-port"]).to.equal(30303);
        expect(toml["rpc-http-port"]).to.equal(8545);
        expect(toml["min-gas-price"]).to.equal(0);
        expect(toml["tx-pool-min-gas-price"]).to.equal(0);
        expect(toml["discovery-enabled"]).to.equal(false);
        expect(toml["static-nodes-file"]).to.equal("/etc/besu/static-nodes.json");
        expect(toml["Xdns-enabled"]).to.equal(true); // hosts are DNS names
        expect(toml["permissions-nodes-config-file-enabled"]).to.equal(true);
        expect(toml["permissions-accounts-config-file-enabled"]).to.equal(true);
        expect(toml["permissions-nodes-config-file"]).to.equal("/etc/besu/permissions_config.toml");
        expect(toml["host-allowlist"]).to.deep.equal(["localhost", "127.0.0.1", `node${i}.civil-id.internal`]);
        if (i === 0) {
          // Serves SDK clients: public listener without the validator-vote API; operators use loopback WS.
          expect(toml["rpc-http-host"]).to.equal("0.0.0.0");
          expect(toml["rpc-http-api"]).to.deep.equal(["ETH", "NET", "WEB3"]);
          expect(toml["rpc-ws-host"]).to.equal("127.0.0.1");
          expect(toml["rpc-ws-port"]).to.equal(8546);
          expect(toml["rpc-ws-api"]).to.deep.equal(["ETH", "NET", "QBFT", "WEB3"]);
        } else {
          expect(toml["rpc-http-host"]).to.equal("127.0.0.1");
          expect(toml["rpc-http-api"]).to.deep.equal(["ETH", "NET", "QBFT", "WEB3"]);
          expect(toml).to.not.have.property("rpc-ws-enabled");
        }
        if (i === 2) expect(toml["metrics-port"]).to.equal(9545);
        else expect(toml).to.not.have.property("metrics-enabled");
      }
    });

    it("static-nodes.json lists every other validator's enode; the allowlists cover all nodes and accounts", () => {
      const enodes = config.nodes.map((n) => n.enode);
      for (let i = 0; i < 4; i++) {
        const staticNodes = JSON.parse(files.get(`nodes/ministry-${i}/static-nodes.json`)!);
        expect(staticNodes).to.deep.equal(enodes.filter((_, j) => j !== i));
        expect(staticNodes[0]).to.match(/^enode:\/\/[0-9a-f]{128}@node\d\.civil-id\.internal:30303$/);
        const perms = parseToml(files.get(`nodes/ministry-${i}/permissions_config.toml`)!);
        expect(perms["nodes-allowlist"]).to.deep.equal(enodes);
        expect(perms["accounts-allowlist"]).to.deep.equal(config.accounts.map((a) => a.address.toLowerCase()));
      }
      expect(config.nodes[1]!.enode).to.equal(`enode://${pub(KEYS[1]!)}@node1.civil-id.internal:30303`);
    });

    it("can switch to discovery with bootnodes, or turn permissioning off (with warnings)", async () => {
      const c = await parseConsortiumInput(baseInput({ discovery: true, permissioning: { nodes: false, accounts: false }, accounts: [] }));
      const out = buildConsortiumFiles(c);
      const toml = parseToml(out.files.get("nodes/ministry-0/config.toml")!);
      expect(toml["discovery-enabled"]).to.equal(true);
      expect(toml["bootnodes"]).to.deep.equal(c.nodes.slice(1).map((n) => n.enode));
      expect(toml["permissions-nodes-config-file-enabled"]).to.equal(false);
      expect(toml).to.not.have.property("permissions-nodes-config-file");
      expect(out.warnings.join("\n")).to.include("Node permissioning is off").and.include("Account permissioning is off");
    });

    it("network.json summarises chain id, validators, quorum and RPC endpoints", () => {
      const out = buildConsortiumFiles(config);
      const network = JSON.parse(out.files.get("network.json")!);
      expect(network.chainId).to.equal(20251127);
      expect(network.genesisSha256).to.equal(out.genesisSha256);
      expect(network.faultTolerance).to.equal(1);
      expect(network.quorum).to.equal(3);
      expect(network.validators.map((v: { address: string }) => v.address)).to.deep.equal(config.nodes.map((n) => n.address));
      expect(network.validators[0].rpcUrl).to.equal("http://node0.civil-id.internal:8545");
      expect(network.validators[1].rpcUrl).to.equal(null);
    });

    it("docker-compose.yml is valid YAML with one service per ministry on a shared network", () => {
      type Service = {
        image: string;
        volumes: string[];
        ports?: string[];
        environment: Record<string, string>;
        depends_on: Record<string, { condition: string }>;
        networks: Record<string, { aliases: string[] }>;
        entrypoint?: string[];
      };
      const compose = yaml.load(files.get("docker-compose.yml")!) as { services: Record<string, Service>; volumes: Record<string, unknown> };
      expect(Object.keys(compose.services)).to.deep.equal(["volume-permissions", ...config.nodes.map((n) => n.name)]);
      expect(compose.services["volume-permissions"]!.entrypoint).to.deep.equal(["chown", "-R", "1000:1000", "/volumes/ministry-0", "/volumes/ministry-1", "/volumes/ministry-2", "/volumes/ministry-3"]);
      const s0 = compose.services["ministry-0"]!;
      expect(s0.image).to.equal("hyperledger/besu:24.12.2");
      expect(s0.volumes).to.include("./nodes/ministry-0/key:/etc/besu/key:ro");
      expect(s0.volumes).to.include("ministry-0-data:/opt/besu/data");
      expect(s0.depends_on["volume-permissions"]!.condition).to.equal("service_completed_successfully");
      expect(s0.environment).to.deep.equal({ BESU_RPC_HTTP_HOST: "0.0.0.0", BESU_RPC_WS_HOST: "0.0.0.0" });
      expect(s0.ports).to.deep.equal(["127.0.0.1:8545:8545", "127.0.0.1:8546:8546"]); // published on the host's loopback only
      expect(s0.networks["consortium"]!.aliases).to.deep.equal(["node0.civil-id.internal"]);
      expect(compose.services["ministry-1"]!.ports).to.equal(undefined); // 8545 is taken by ministry-0
      expect(Object.keys(compose.volumes)).to.have.length(4);
    });

    it("docker-compose.yml uses the host network for a single-machine (loopback) rehearsal and fixed IPs otherwise", async () => {
      const loop = await parseConsortiumInput(
        baseInput({ ministries: [0, 1, 2, 3].map((i) => ministry(i, { host: "127.0.0.1", p2pPort: 30303 + i, rpcPort: 8545 + 10 * i })) }),
      );
      const c1 = yaml.load(buildConsortiumFiles(loop).files.get("docker-compose.yml")!) as { services: Record<string, Record<string, unknown>> };
      expect(Object.values(c1.services).filter((s) => s["network_mode"] === "host")).to.have.length(4);
      expect(c1.services["ministry-1"]!["environment"]).to.deep.equal({ BESU_RPC_HTTP_HOST: "127.0.0.1", BESU_RPC_WS_HOST: "127.0.0.1" });
      expect(parseToml(buildConsortiumFiles(loop).files.get("nodes/ministry-0/config.toml")!)).to.not.have.property("Xdns-enabled");

      const ips = await parseConsortiumInput(baseInput({ ministries: [0, 1, 2, 3].map((i) => ministry(i, { host: `10.20.30.${11 + i}` })) }));
      const c2 = yaml.load(buildConsortiumFiles(ips).files.get("docker-compose.yml")!) as {
        services: Record<string, { networks: Record<string, { ipv4_address: string }> }>;
        networks: { consortium: { ipam: { config: { subnet: string }[] } } };
      };
      expect(c2.services["ministry-3"]!.networks["consortium"]!.ipv4_address).to.equal("10.20.30.14");
      expect(c2.networks.consortium.ipam.config[0]!.subnet).to.equal("10.20.30.0/24");
      expect(parseToml(buildConsortiumFiles(ips).files.get("nodes/ministry-3/config.toml")!)["p2p-host"]).to.equal("10.20.30.14");
    });
  });

  describe("a running network (existing genesis)", () => {
    it("rebuilds the node files for a new member without touching the genesis, and names the votes needed", async () => {
      const original = buildConsortiumFiles(await parseConsortiumInput(baseInput()));
      const genesisText = original.files.get("genesis.json")!;
      const grown = await parseConsortiumInput(
        baseInput({ ministries: [0, 1, 2, 3, 4].map((i) => ministry(i)) }),
      );
      const update = buildConsortiumFiles(grown, { existingGenesis: genesisText });
      expect(update.files.has("genesis.json")).to.equal(false);
      expect(update.genesisSha256).to.equal(original.genesisSha256);
      expect(update.validatorChanges).to.deep.equal({ add: [KEYS[4]!.address], remove: [] });
      expect(JSON.parse(update.files.get("nodes/ministry-0/static-nodes.json")!)).to.include(grown.nodes[4]!.enode);
      expect(update.files.has("nodes/ministry-4/config.toml")).to.equal(true);

      const shrunk = await parseConsortiumInput(baseInput({ ministries: [0, 1, 2].map((i) => ministry(i)) }));
      expect(buildConsortiumFiles(shrunk, { existingGenesis: genesisText }).validatorChanges).to.deep.equal({ add: [], remove: [KEYS[3]!.address] });
    });

    it("refuses an input whose chain id or QBFT parameters differ from the running genesis", async () => {
      const genesisText = buildConsortiumFiles(await parseConsortiumInput(baseInput())).files.get("genesis.json")!;
      const other = await parseConsortiumInput(baseInput({ chainId: 42424242, blockPeriodSeconds: 5, requestTimeoutSeconds: 10 }));
      expect(() => buildConsortiumFiles(other, { existingGenesis: genesisText }))
        .to.throw(CivilIdError, "chainId 20251127 (input: 42424242)")
        .with.property("message")
        .that.includes("qbft.blockperiodseconds 2 (input: 5)");
      expect(() => buildConsortiumFiles(other, { existingGenesis: "{" })).to.throw(CivilIdError, "not valid JSON");
    });
  });

  describe("node keys", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "mcid-keys-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("derives the public key and validator address from a Besu key file and never writes the private key", async () => {
      await writeFile(path.join(dir, "m0.key"), `${KEYS[0]!.privateKey}\n`);
      await writeFile(path.join(dir, "m1.key"), KEYS[1]!.privateKey.slice(2)); // without 0x, as some tools write it
      const input = baseInput({
        ministries: [
          ministry(0, { nodePublicKey: undefined, nodeKeyFile: "m0.key", validatorAddress: KEYS[0]!.address }),
          ministry(1, { nodePublicKey: undefined, nodeKeyFile: "m1.key" }),
          ministry(2),
          ministry(3),
        ],
      });
      delete (input.ministries as Record<string, unknown>[])[0]!["nodePublicKey"];
      delete (input.ministries as Record<string, unknown>[])[1]!["nodePublicKey"];
      const config = await parseConsortiumInput(input, { baseDir: dir });
      expect(config.nodes[0]!.address).to.equal(KEYS[0]!.address);
      expect(config.nodes[1]!.publicKey).to.equal(pub(KEYS[1]!));
      const all = [...buildConsortiumFiles(config).files.values()].join("\n");
      for (const k of [0, 1]) expect(all).to.not.include(KEYS[k]!.privateKey.slice(2));
    });

    it("accepts 0x04-prefixed and compressed public keys", async () => {
      const input = baseInput();
      const ms = input.ministries as Record<string, unknown>[];
      ms[0]!["nodePublicKey"] = KEYS[0]!.signingKey.publicKey; // 0x04...
      ms[1]!["nodePublicKey"] = KEYS[1]!.signingKey.compressedPublicKey;
      const config = await parseConsortiumInput(input);
      expect(config.nodes[0]!.address).to.equal(KEYS[0]!.address);
      expect(config.nodes[1]!.publicKey).to.equal(pub(KEYS[1]!));
    });

    it("refuses unreadable or malformed key files", async () => {
      await writeFile(path.join(dir, "bad.key"), "not a key");
      await writeFile(path.join(dir, "zero.key"), `0x${"00".repeat(32)}`);
      for (const [file, fragment] of [["missing.key", "cannot read"], ["bad.key", "does not hold a Besu node key"], ["zero.key", "invalid secp256k1 private key"]]) {
        const input = baseInput();
        const m = (input.ministries as Record<string, unknown>[])[0]!;
        delete m["nodePublicKey"];
        m["nodeKeyFile"] = path.join(dir, file!);
        await refused(input, "ministries[0] (ministry-0).nodeKeyFile", fragment!);
      }
    });
  });

  describe("validation", () => {
    const withMinistry = (i: number, overrides: Record<string, unknown>) => {
      const input = baseInput();
      const ms = input.ministries as Record<string, unknown>[];
      ms[i] = { ...ms[i], ...overrides };
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete ms[i]![k];
      return input;
    };

    const cases: [string, unknown, string[]][] = [
      ["not an object", [1, 2], ["input: must be a JSON object"]],
      ["unknown top-level field (typo)", baseInput({ blockPeriod: 2 }), ["blockPeriod: unknown field"]],
      ["missing chainId", baseInput({ chainId: undefined }), ["chainId: is required"]],
      ["chainId 0", baseInput({ chainId: 0 }), ["chainId: 0 must be an integer from 1"]],
      ["mainnet chainId", baseInput({ chainId: 1 }), ["chainId: 1 is the chain id of Ethereum mainnet"]],
      ["fractional block period", baseInput({ blockPeriodSeconds: 1.5 }), ["blockPeriodSeconds: 1.5 must be an integer"]],
      ["zero request timeout", baseInput({ requestTimeoutSeconds: 0 }), ["requestTimeoutSeconds"]],
      ["zero epoch", baseInput({ epochLength: 0 }), ["epochLength"]],
      ["no ministries", baseInput({ ministries: [] }), ["ministries: must be a non-empty list", "at least one validator"]],
      ["non-zero gas price", baseInput({ minGasPrice: 1 }), ["minGasPrice", "free gas"]],
      ["tiny gas limit", baseInput({ gasLimit: "100" }), ["gasLimit"]],
      ["bad name", withMinistry(0, { name: "Ministry One" }), ["ministries[0].name", "lower-case"]],
      ["duplicate name", withMinistry(1, { name: "ministry-0" }), ["ministries[1]: duplicate name \"ministry-0\" (also at ministries[0])"]],
      ["6-digit agency code", withMinistry(0, { agencyCode: 174100 }), ["agencyCode", "7 digits"]],
      ["agency code with leading zero", withMinistry(0, { agencyCode: "0741000" }), ["agencyCode", "7 digits"]],
      ["duplicate agency code", withMinistry(2, { agencyCode: 1_100_000 }), ["ministries[2]: duplicate agencyCode \"1100000\""]],
      ["address only, no public key", withMinistry(0, { nodePublicKey: undefined, validatorAddress: KEYS[0]!.address }), ["needs the node's public key", "validatorAddress alone is not enough"]],
      ["both key sources", withMinistry(0, { nodeKeyFile: "x.key" }), ["either nodePublicKey or nodeKeyFile"]],
      ["public key not on the curve", withMinistry(0, { nodePublicKey: "11".repeat(64) }), ["nodePublicKey: is not a secp256k1 public key"]],
      ["validator address does not match the key", withMinistry(0, { validatorAddress: KEYS[1]!.address }), ["does not match the node key", KEYS[0]!.address]],
      ["validator address with a bad checksum", withMinistry(0, { validatorAddress: KEYS[0]!.address.replace(/[a-f]/, (c) => c.toUpperCase()) }), ["validatorAddress", "not an address"]],
      ["same node key twice", withMinistry(3, { nodePublicKey: pub(KEYS[0]!) }), ["duplicate validator address (node key)"]],
      ["bad host", withMinistry(0, { host: "node one!" }), ["ministries[0] (ministry-0).host", "not an IP address or DNS host name"]],
      ["port 0", withMinistry(0, { p2pPort: 0 }), ["p2pPort: 0 is not a TCP port"]],
      ["port too high", withMinistry(0, { rpcPort: 70000 }), ["rpcPort: 70000 is not a TCP port"]],
      ["p2p = rpc port", withMinistry(1, { rpcPort: 30303 }), ["rpcPort: must differ from p2pPort"]],
      ["two nodes on one host:port", withMinistry(1, { host: "node0.civil-id.internal" }), ["ministries[1].p2pPort: node0.civil-id.internal:30303 is already used by ministries[0].p2pPort"]],
      ["operator WebSocket collides", withMinistry(1, { host: "node0.civil-id.internal", p2pPort: 8546, rpcPort: 9000 }), ["is already used by ministries[0].rpcPort+1 (operator WebSocket)"]],
      ["rpc not boolean", withMinistry(0, { rpc: "yes" }), ["ministries[0] (ministry-0).rpc: must be true"]],
      ["unknown ministry field", withMinistry(0, { validator: true }), ["ministries[0] (ministry-0).validator: unknown field"]],
      ["bad account address", baseInput({ accounts: [{ name: "x", address: "0x12" }] }), ["accounts[0].address", "not an address"]],
      ["zero-address account", baseInput({ accounts: [{ name: "x", address: `0x${"0".repeat(40)}` }] }), ["accounts[0].address: the zero address"]],
      ["duplicate account", baseInput({ accounts: [{ name: "a", address: KEYS[4]!.address }, { name: "b", address: KEYS[4]!.address.toLowerCase() }] }), ["accounts[1]: duplicate address"]],
      ["bad balance", baseInput({ accounts: [{ name: "a", address: KEYS[4]!.address, balance: "-1" }] }), ["accounts[0].balance"]],
      ["account permissioning without accounts", baseInput({ accounts: [] }), ["account permissioning is on but no account is listed"]],
    ];
    for (const [title, input, fragments] of cases) {
      it(`refuses ${title}`, async () => {
        await refused(input, ...fragments);
      });
    }

    it("reports every problem at once, in details.problems too", async () => {
      const e = await refused(baseInput({ chainId: -1, ministries: [ministry(0, { agencyCode: 1 }), ministry(1, { host: "" })] }), "3 problems");
      expect((e.details as { problems: string[] }).problems).to.have.length(3);
    });

    it("accepts fewer than 4 validators with a warning, and a single validator", async () => {
      const three = await parseConsortiumInput(baseInput({ ministries: [0, 1, 2].map((i) => ministry(i)) }));
      expect(three.warnings.join("\n")).to.include("Only 3 validators").and.include("Run at least 4 validators");
      const one = await parseConsortiumInput(baseInput({ ministries: [ministry(0)] }));
      expect(one.nodes).to.have.length(1);
      expect(validatorsOf(JSON.parse(buildConsortiumFiles(one).files.get("genesis.json")!).extraData)).to.deep.equal([KEYS[0]!.address]);
      const four = await parseConsortiumInput(baseInput());
      expect(four.warnings).to.deep.equal([]);
    });

    it("warns when the request timeout is below twice the block period", async () => {
      const c = await parseConsortiumInput(baseInput({ requestTimeoutSeconds: 3 }));
      expect(c.warnings.join("\n")).to.include("below twice blockPeriodSeconds");
    });

    it("computes QBFT fault tolerance and quorum", () => {
      expect([1, 2, 3, 4, 5, 6, 7, 10].map(faultTolerance)).to.deep.equal([0, 0, 0, 1, 1, 1, 2, 3]);
      expect([1, 2, 3, 4, 5, 6, 7, 10].map(qbftQuorum)).to.deep.equal([1, 2, 2, 3, 4, 4, 5, 7]);
    });
  });

  describe("writing and the command line", function () {
    this.timeout(60_000);
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "mcid-consortium-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes world-readable files and refuses to replace a genesis without force", async () => {
      const output = buildConsortiumFiles(await parseConsortiumInput(baseInput()));
      const written = await writeConsortiumFiles(dir, output);
      expect(written).to.have.length(output.files.size);
      expect((await stat(path.join(dir, "nodes/ministry-0/config.toml"))).mode & 0o777).to.equal(0o644);
      try {
        await writeConsortiumFiles(dir, output);
        expect.fail("overwrote genesis.json");
      } catch (error) {
        expect((error as CivilIdError).code).to.equal("INVALID_INPUT");
        expect((error as Error).message).to.include("a new chain");
      }
      await writeConsortiumFiles(dir, output, { force: true });
    });

    it("runs end-to-end on the example: 4 validators, every file, exactly the example's validators", async () => {
      const example = JSON.parse(await readFile(EXAMPLE, "utf8")) as { ministries: { name: string; validatorAddress: string }[] };
      expect(example.ministries).to.have.length(4);
      const { stdout, stderr } = await execFileP(TSX, [SCRIPT, "--input", EXAMPLE, "--out", dir], { cwd: ROOT });
      expect(stderr).to.equal(""); // 4 validators and sound settings: no warning
      expect(stdout).to.include("4 QBFT validators, quorum 3, tolerates 1 faulty");
      const genesis = JSON.parse(await readFile(path.join(dir, "genesis.json"), "utf8"));
      expect(validatorsOf(genesis.extraData)).to.deep.equal(example.ministries.map((m) => getAddress(m.validatorAddress)));
      for (const m of example.ministries) {
        for (const f of ["config.toml", "static-nodes.json", "permissions_config.toml"]) {
          await stat(path.join(dir, "nodes", m.name, f));
        }
      }
      yaml.load(await readFile(path.join(dir, "docker-compose.yml"), "utf8"));
      const network = JSON.parse(await readFile(path.join(dir, "network.json"), "utf8"));
      expect(stdout).to.include(network.genesisSha256);

      // A second run must not silently replace the genesis file; --force does.
      const again = await execFileP(TSX, [SCRIPT, "--input", EXAMPLE, "--out", dir], { cwd: ROOT }).then(
        () => expect.fail("second run succeeded"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(again.code).to.equal(1);
      expect(again.stderr).to.include("[INVALID_INPUT]").and.include("already exists");
      await execFileP(TSX, [SCRIPT, "-i", EXAMPLE, "-o", dir, "--force"], { cwd: ROOT });
    });

    it("--nodes-only keeps the running genesis and rebuilds the node files for a grown consortium", async () => {
      await execFileP(TSX, [SCRIPT, "--input", EXAMPLE, "--out", dir], { cwd: ROOT });
      const genesisBefore = await readFile(path.join(dir, "genesis.json"), "utf8");
      const example = JSON.parse(await readFile(EXAMPLE, "utf8")) as { ministries: Record<string, unknown>[] };
      example.ministries.push({ name: "mofa", agencyCode: "1262000", nodePublicKey: pub(KEYS[4]!), host: "node.mofa.civil-id.internal", p2pPort: 30307, rpcPort: 8945, rpc: false });
      const grown = path.join(dir, "grown.json");
      await writeFile(grown, JSON.stringify(example));
      const { stdout } = await execFileP(TSX, [SCRIPT, "--input", grown, "--out", dir, "--nodes-only"], { cwd: ROOT });
      expect(await readFile(path.join(dir, "genesis.json"), "utf8")).to.equal(genesisBefore);
      expect(stdout).to.include("kept unchanged").and.include(`qbft_proposeValidatorVote("${KEYS[4]!.address}", true)`);
      const staticNodes = JSON.parse(await readFile(path.join(dir, "nodes/mois/static-nodes.json"), "utf8")) as string[];
      expect(staticNodes).to.have.length(4);
      await stat(path.join(dir, "nodes/mofa/config.toml"));

      const both = await execFileP(TSX, [SCRIPT, "-i", grown, "-o", dir, "--nodes-only", "--force"], { cwd: ROOT }).then(
        () => expect.fail("accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(both.code).to.equal(2);
      const noGenesis = await execFileP(TSX, [SCRIPT, "-i", grown, "-o", path.join(dir, "empty"), "--nodes-only"], { cwd: ROOT }).then(
        () => expect.fail("accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(noGenesis.code).to.equal(1);
      expect(noGenesis.stderr).to.include("--nodes-only needs the running network's genesis");
    });

    it("exits 1 listing the problems of an invalid input, and 2 on a wrong command line", async () => {
      const bad = path.join(dir, "bad.json");
      await writeFile(bad, JSON.stringify(baseInput({ chainId: 1, ministries: [ministry(0, { agencyCode: 12 })] })));
      const invalid = await execFileP(TSX, [SCRIPT, "--input", bad, "--out", path.join(dir, "out")], { cwd: ROOT }).then(
        () => expect.fail("invalid input accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(invalid.code).to.equal(1);
      expect(invalid.stderr).to.include("Invalid consortium input (2 problems)").and.include("Ethereum mainnet").and.include("agencyCode");

      await writeFile(bad, "{ not json");
      const notJson = await execFileP(TSX, [SCRIPT, "--input", bad, "--out", dir], { cwd: ROOT }).then(
        () => expect.fail("accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(notJson.code).to.equal(1);
      expect(notJson.stderr).to.include("is not valid JSON");

      const usage = await execFileP(TSX, [SCRIPT, "--input", EXAMPLE], { cwd: ROOT }).then(
        () => expect.fail("accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.include("--input and --out are required");
      const unknown = await execFileP(TSX, [SCRIPT, "--inptu", EXAMPLE], { cwd: ROOT }).then(
        () => expect.fail("accepted"),
        (e: { code: number; stderr: string }) => e,
      );
      expect(unknown.code).to.equal(2);
    });
  });
});
