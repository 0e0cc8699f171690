// The JS side of scripts/check_hub_interop.sh: the npm package @huggingface/hub (its own
// implementation of the Hugging Face cache) reads a cache that vit-classify wrote, and writes one
// for vit-classify to read. Each check prints "  OK    WHAT" or "  FAIL  WHAT: WHY"; the exit
// status is 1 when any failed.
//
//   node hub_interop.mjs scan     repo=ORG/NAME commit=C refs=main files=A,B src=DIR
//   node hub_interop.mjs download repo=ORG/NAME rev=REV commit=C files=A,B hub=URL [allow=REGEX]
//   node hub_interop.mjs snapshot repo=ORG/NAME rev=REV commit=C hub=URL
//
// The cache is the library's default, getHFHubCachePath() ($HF_HUB_CACHE, else $HF_HOME/hub,
// ...), never a cacheDir argument: that the two programs agree on it is part of the check.
// `allow`: the request paths the library may make (a regex; default any): "^$" for none.
// HFJS_DIR: the folder whose node_modules holds @huggingface/hub.
import { createHash } from "node:crypto";
import { readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";

const require = createRequire(join(process.env.HFJS_DIR ?? process.cwd(), "package.json"));
const hub = require("@huggingface/hub");
console.debug = () => {};  // its "Downloading X to Y" lines

const [cmd, ...rest] = process.argv.slice(2);
const arg = Object.fromEntries(rest.map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)]));
const list = (s) => (s ? s.split(",").filter(Boolean).sort() : []);
let failed = 0;
function check(what, ok, why = "") {
	console.log(ok ? `  OK    ${what}` : `  FAIL  ${what}${why ? ": " + why : ""}`);
	if (!ok) failed++;
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const gitSha1 = (path) => {
	const data = readFileSync(path);
	return createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data])).digest("hex");
};
const LFS = /\.(safetensors|bin|pth|pt)$/;

const cache = hub.getHFHubCachePath();
const repoDir = arg.repo ? join(cache, "models--" + arg.repo.replaceAll("/", "--")) : "";

// A fetch that records what the library asks for.
const requests = [];
const countingFetch = (url, init) => {
	requests.push(`${init?.method ?? "GET"} ${new URL(String(url)).pathname}`);
	return fetch(url, init);
};
function checkRequests(what) {
	const allow = new RegExp(arg.allow ?? ".*");
	const bad = requests.filter((r) => !allow.test(r.slice(r.indexOf(" ") + 1)));
	check(`${what}: ${requests.length} request(s)${requests.length ? " (" + [...new Set(requests)].join(", ") + ")" : ""}, ` +
		`all matching /${allow.source}/`, bad.length === 0, `not allowed: ${bad.join(", ")}`);
}

if (cmd === "scan") {
	check(`getHFHubCachePath() is $HF_HUB_CACHE (${cache})`, cache === process.env.HF_HUB_CACHE);
	const info = await hub.scanCacheDir();
	check("scanCacheDir: no warnings", info.warnings.length === 0, info.warnings.map((w) => w.message).join("; "));
	check(`scanCacheDir: one repository`, info.repos.length === 1, `${info.repos.length}`);
	const repo = info.repos[0] ?? { id: {}, revisions: [] };
	check(`repo id ${repo.id.type}/${repo.id.name} is model/${arg.repo}`, repo.id.type === "model" && repo.id.name === arg.repo);
	const revs = repo.revisions;
	check(`revisions [${revs.map((r) => r.commitOid)}] are [${arg.commit}]`, revs.length === 1 && revs[0].commitOid === arg.commit);
	const rev = revs[0] ?? { refs: [], files: [] };
	check(`refs of ${arg.commit.slice(0, 8)}: [${rev.refs}] are [${list(arg.refs)}]`, same([...rev.refs].sort(), list(arg.refs)));
	const names = rev.files.map((f) => basename(f.path)).sort();
	check(`files [${names}] are [${list(arg.files)}]`, same(names, list(arg.files)));
	let total = 0;
	for (const f of rev.files) {
		const name = basename(f.path);
		const src = join(arg.src, name);
		const etag = LFS.test(name) ? sha256(src) : gitSha1(src);
		const link = readlinkSync(f.path);
		check(`${name}: symlink -> ${link} (relative, into blobs/ by its ETag)`, link === `../../blobs/${etag}`);
		const blob = realpathSync(join(repoDir, "blobs", etag));
		check(`${name}: blob.path is blobs/${etag.slice(0, 12)}...`, f.blob.path === blob, f.blob.path);
		const size = statSync(src).size;
		check(`${name}: blob.size ${f.blob.size} = ${size}, same bytes (sha256)`,
			f.blob.size === size && sha256(f.blob.path) === sha256(src));
		total += size;
	}
	check(`repo size ${repo.size} = ${total}, filesCount ${repo.filesCount} = ${rev.files.length}`,
		repo.size === total && repo.filesCount === rev.files.length);
} else if (cmd === "download") {
	for (const file of list(arg.files)) {
		let got;
		try {
			got = await hub.downloadFileToCacheDir({ repo: arg.repo, path: file, revision: arg.rev, hubUrl: arg.hub, fetch: countingFetch });
		} catch (e) {
			got = `(error: ${e.message})`;
		}
		const want = join(repoDir, "snapshots", arg.commit, file);
		check(`downloadFileToCacheDir(${file}, revision ${arg.rev.slice(0, 12)}) -> snapshots/${arg.commit.slice(0, 8)}.../${file}`,
			got === want, got);
	}
	checkRequests("downloadFileToCacheDir");
} else if (cmd === "snapshot") {
	let got;
	try {
		got = await hub.snapshotDownload({ repo: arg.repo, revision: arg.rev, hubUrl: arg.hub, fetch: countingFetch });
	} catch (e) {
		got = `(error: ${e.message})`;
	}
	check(`snapshotDownload(${arg.rev}) -> snapshots/${arg.commit.slice(0, 8)}...`, got === join(repoDir, "snapshots", arg.commit), got);
	checkRequests("snapshotDownload");
} else {
	console.error("usage: hub_interop.mjs scan|download|snapshot key=value...");
	process.exit(2);
}
process.exit(failed ? 1 : 0);
