#!/bin/sh
# The Packer template: "packer validate" with Debian's packer (1.6.6, the
# DigitalOcean builder built in) and a dummy token, so the template keeps to
# options old and new Packer both accept; the token is required and comes from
# DIGITALOCEAN_TOKEN or DIGITALOCEAN_ACCESS_TOKEN; the scripts it runs are
# exactly packer/scripts/, in order.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need packer
hcl="$top_srcdir/packer/doagent-redis.pkr.hcl"
# The file provisioner checks that the tarball exists; any file will do here.
: >"$TMP/doagent-0.0.0.tar.xz"
validate() { # ENV... -- ARGS...: packer validate in $TMP, with only the given environment
	local envs=""
	while [ "$1" != -- ]; do
		envs="$envs $1"
		shift
	done
	shift
	status=0
	# shellcheck disable=SC2086 # one VAR=value a word
	(cd "$TMP" && env -i PATH="$PATH" HOME="$TMP" CHECKPOINT_DISABLE=1 $envs packer validate "$@" "$hcl") \
		>"$TMP/out" 2>&1 || status=$?
}

validate DIGITALOCEAN_TOKEN=dummy-token -- -var tarball=doagent-0.0.0.tar.xz
check; [ "$status" -eq 0 ] || fail "packer validate (DIGITALOCEAN_TOKEN): $(cat "$TMP/out")"
validate DIGITALOCEAN_ACCESS_TOKEN=dummy-token -- -var tarball=doagent-0.0.0.tar.xz
check; [ "$status" -eq 0 ] || fail "packer validate (DIGITALOCEAN_ACCESS_TOKEN): $(cat "$TMP/out")"
validate -- -var token=dummy-token -var tarball=doagent-0.0.0.tar.xz -var base_image=debian-12-x64 \
	-var region=fra1 -var size=s-2vcpu-2gb -var snapshot_name=doagent-test -var 'snapshot_regions=["ams3","sgp1"]'
check; [ "$status" -eq 0 ] || fail "packer validate with every variable set: $(cat "$TMP/out")"
validate -- -var tarball=doagent-0.0.0.tar.xz
check; [ "$status" -ne 0 ] && grep -q 'api_token' "$TMP/out" || fail "packer validate without a token: status $status"
validate DIGITALOCEAN_TOKEN=dummy-token -- -var tarball=missing.tar.xz
check; [ "$status" -ne 0 ] && grep -q 'missing.tar.xz' "$TMP/out" || fail "packer validate with no tarball: status $status"
check; ! grep -q dummy-token "$TMP/out" || fail "packer validate printed the token"

# The scripts the template runs are packer/scripts/, every one, in name order.
listed=$(sed -n 's|^ *"${path.root}/scripts/\([^"/]*\)",\{0,1\}$|\1|p' "$hcl" | tr '\n' ' ')
present=$(cd "$top_srcdir/packer/scripts" && ls | tr '\n' ' ')
check; [ "$listed" = "$present" ] || fail "the template runs '$listed', packer/scripts/ holds '$present'"
# No required_plugins in the template (packer 1.6.6 would refuse it); packer/init/ has it.
check; ! grep -q "^ *required_plugins" "$hcl" && grep -q 'source *= *"github.com/digitalocean/digitalocean"' \
	"$top_srcdir/packer/init/plugins.pkr.hcl" || fail "required_plugins belongs in packer/init/plugins.pkr.hcl only"
check; grep -q 'default *= *"ubuntu-24-04-x64"' "$hcl" || fail "the base image is not ubuntu-24-04-x64 by default"
for f in "$hcl" "$top_srcdir/packer/init/plugins.pkr.hcl"; do
	check; packer fmt -check "$f" >/dev/null 2>&1 || fail "$f is not as \"packer fmt\" writes it"
done
finish
