#!/usr/bin/env bash
# A SensorShare network of validators (Alice, Bob, Charlie, Dave; Aura + GRANDPA)
# on loopback ports. RPC: ws://127.0.0.1:9944, :9945, … one port a validator.
# Ctrl-C stops them all. Four validators are the fewest with which GRANDPA (more
# than two thirds of the votes) goes on finalizing when one is down.
#
#   scripts/testnet.sh                    run until Ctrl-C
#   scripts/testnet.sh --check            exit 0 once every node has finalized block 3
#                                         (exit 1 if that takes more than 3 minutes)
#   scripts/testnet.sh --block-time 13    13-second blocks (chain spec `local-13s`,
#                                         the paper's setting) instead of 6
#   scripts/testnet.sh --validators 6     6 validators (1 to 6: Alice … Ferdie; chain
#                                         spec `local-6v`) instead of 4
#
# NODE=path/to/sensorshare-node overrides the binary (default: target/release).
set -euo pipefail
cd "$(dirname "$0")/.."

node=${NODE:-target/release/sensorshare-node}
if [[ ! -x $node ]]; then
	echo "testnet: no $node; build it with: cargo build --release --locked -p sensorshare-node" >&2
	exit 1
fi
check=false
block_time=
validators=4
while (($#)); do
	case $1 in
		--check) check=true ;;
		--block-time)
			[[ ${2:-} =~ ^[0-9]+$ ]] || { echo "testnet: --block-time takes a number of seconds" >&2; exit 2; }
			block_time=$2
			shift
			;;
		--validators)
			[[ ${2:-} =~ ^[1-6]$ ]] || { echo "testnet: --validators takes 1 to 6" >&2; exit 2; }
			validators=$2
			shift
			;;
		*) echo "testnet: unknown argument $1; see the top of $0" >&2; exit 2 ;;
	esac
	shift
done

chain=local
[[ -z $block_time ]] || chain+="-${block_time}s"
((validators == 4)) || chain+="-${validators}v"

base=$(mktemp -d -t sensorshare-testnet.XXXXXX)
pids=()
stop() {
	trap - INT TERM EXIT
	echo "testnet: stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$base"
	echo "testnet: stopped"
}
trap stop INT TERM EXIT

# Fixed, public node keys (a local testnet only): key 1 gives Alice, the bootnode,
# a known peer id.
alice_peer=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp
names=(alice bob charlie dave eve ferdie)
names=("${names[@]:0:validators}")
for ((i = 0; i < validators; i++)); do
	name=${names[$i]}
	args=(--chain "$chain" --validator "--$name" --base-path "$base/$name"
		--port $((30333 + i)) --rpc-port $((9944 + i)) --rpc-cors all
		--no-mdns --no-prometheus --no-telemetry
		--node-key "$(printf '%064x' $((i + 1)))")
	if [[ $name != alice ]]; then
		args+=(--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$alice_peer")
	fi
	"$node" "${args[@]}" >"$base/$name.log" 2>&1 &
	pids+=($!)
	echo "testnet: $name on ws://127.0.0.1:$((9944 + i)) (log: $base/$name.log)"
done

finalized() {
	local hash
	hash=$(curl -s -H 'Content-Type: application/json' \
		-d '{"id":1,"jsonrpc":"2.0","method":"chain_getFinalizedHead","params":[]}' \
		"http://127.0.0.1:$1" | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p')
	[[ -n $hash ]] || { echo 0; return; }
	curl -s -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"chain_getHeader\",\"params\":[\"$hash\"]}" \
		"http://127.0.0.1:$1" | sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p' | xargs -r printf '%d\n'
}

start=$SECONDS
while true; do
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null || { echo "testnet: a node exited; see $base" >&2; tail -n 20 "$base"/*.log >&2; exit 1; }
	done
	heights=() report=() lowest=
	for ((i = 0; i < validators; i++)); do
		h=$(finalized $((9944 + i)))
		h=${h:-0}
		heights+=("$h")
		report+=("${names[$i]} $h")
		[[ -n $lowest ]] && ((lowest <= h)) || lowest=$h
	done
	echo "testnet: $chain, finalized blocks: $(printf '%s, ' "${report[@]}" | sed 's/, $//')"
	if $check; then
		if ((lowest >= 3)); then
			echo "testnet: all $validators validators finalize"
			exit 0
		fi
		if ((SECONDS - start > 180)); then
			echo "testnet: no finality after 3 minutes" >&2
			tail -n 20 "$base"/*.log >&2
			exit 1
		fi
	fi
	sleep 6
done
