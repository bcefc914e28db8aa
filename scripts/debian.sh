# Sourced by the setup scripts: install the Debian packages the project needs when running
# as root (as CI does), otherwise say exactly what to install.
#   debian_install "<what needs them>" package...   (returns 1 when it could not install)

debian_install() {
  local needed_by="$1"
  shift
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "note: $needed_by needs Debian packages: sudo apt-get install $*" >&2
    return 1
  fi
  echo "Installing $* (Debian packages) for $needed_by"
  # Another apt run (an engineer's, unattended upgrades) may hold the lock for a while.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}
