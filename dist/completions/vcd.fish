# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vcd_global_optspecs
    string join \n r/repo= config= password-file= cache-dir= no-cache q/quiet v/verbose no-lock notify-url= notify-command= h/help V/version
end

function __fish_vcd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vcd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vcd_using_subcommand
    set -l cmd (__fish_vcd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vcd -n "__fish_vcd_needs_command" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_needs_command" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_needs_command" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_needs_command" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_needs_command" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_needs_command" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_needs_command" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_needs_command" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_needs_command" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_needs_command" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_needs_command" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_needs_command" -s V -l version -d 'Print version'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "init" -d 'Create a repository'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "backup" -d 'Back up files and directories'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "snapshots" -d 'List snapshots'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "ls" -d 'List the files in a snapshot'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "diff" -d 'Show what changed between two snapshots'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "stats" -d 'Repository size, deduplication and compression'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "cat" -d 'Print a repository object (for debugging)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "forget" -d 'Remove snapshots by id or by a retention policy (their data stays until a prune)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "restore" -d 'Restore a snapshot'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "restores" -d 'List the restorations (every restore is recorded), or show one'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "verify-restore" -d 'Compare a restoration\'s target with its snapshot and record the result'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "rollback" -d 'Put a restoration\'s target back as it was before the restore'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "drill" -d 'Restore a scenario\'s data (or a sample) into a scratch directory, verify it, remove it, and estimate the whole restore\'s duration against the RTO'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "check" -d 'Verify the repository'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "copy" -d 'Copy snapshots from another repository into this one (only the data this one lacks)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "audit" -d 'The audit trail: every operation on the repository; --verify checks it'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "status" -d 'Every job against its RPO, every scenario against its RTO, the repository, the last check (exit 0 ok, 1 warning, 2 breach)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "repair" -d 'Repair repository structures'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "prune" -d 'Delete data no snapshot uses (beside running backups)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "key" -d 'Manage the keys (passwords) that open the repository'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "unlock" -d 'Remove stale locks'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "mount" -d 'Mount the snapshots read-only with FUSE'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "config" -d 'Write, check or show the configuration file (categories, jobs, schedules, scenarios)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "run" -d 'Run one configured job now (backup, retention, chained maintenance)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "schedule" -d 'List the next runs of every configured job; install the systemd unit'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "daemon" -d 'Run the configured jobs at their scheduled times (SIGHUP reloads, SIGTERM stops)'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "man" -d 'Print or write the manual pages'
complete -c vcd -n "__fish_vcd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand init" -l compression -d 'zstd level for new data (0 stores raw)' -r
complete -c vcd -n "__fish_vcd_using_subcommand init" -l pack-size -d 'Close packs at this size, in MiB' -r
complete -c vcd -n "__fish_vcd_using_subcommand init" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand init" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand init" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand init" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand init" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand init" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand init" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand init" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand init" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand init" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand init" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l tag -d 'Tag the snapshot (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l category -d 'Data category (critical, important, optional, ...)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l job -d 'The configured job this backup runs for (recorded; `snapshots --job` and `forget --group-by job` use it)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l compression -d 'zstd level of the new data this backup stores (-7 to 22; default: the repository\'s)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l exclude -d 'Skip paths matching a glob (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l exclude-file -d 'Read exclude globs from a file, one per line' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l type -d 'full reads every byte; incremental skips files unchanged since the parent snapshot' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l host -d 'Host name to record (default: this host)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l time -d 'Snapshot time to record instead of now (RFC 3339 or "YYYY-MM-DD HH:MM")' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s x -l one-file-system -d 'Do not cross filesystem boundaries'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s n -l dry-run -d 'Do everything but write to the repository'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l json -d 'Print the summary as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand backup" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l tag -d 'Only snapshots with this tag' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l host -d 'Only snapshots from this host' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l job -d 'Only snapshots of this configured job' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l category -d 'Only snapshots of this data category' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l json -d 'Print a JSON array'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand snapshots" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l at -d 'Instead of a snapshot id: the newest at or before this time (as `restore --at`)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand ls" -s l -l long -d 'Long listing: type, mode, owner, size, mtime'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l json -d 'JSON Lines: one object per entry (`path`, `type`, `mode`, `uid`, `gid`, `user`, `group`, `size`, `mtime`, `target`)'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand ls" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l json -d 'JSON Lines: one `{"type":"change","change":"added|removed|modified|metadata","path":…}` per change, then `{"type":"summary","added":…,"removed":…,"modified":…}`'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand diff" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l json -d 'Print JSON'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand stats" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l at -d 'A snapshot: the newest at or before this time (as `restore --at`)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand cat" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand cat" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand cat" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand cat" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-last -d 'Keep the newest N snapshots' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-hourly -d 'Keep the newest snapshot of each of the newest N hours that have one' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-daily -d 'Keep the newest snapshot of each of the newest N days that have one' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-weekly -d 'Keep the newest snapshot of each of the newest N ISO weeks that have one' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-monthly -d 'Keep the newest snapshot of each of the newest N months that have one' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-yearly -d 'Keep the newest snapshot of each of the newest N years that have one' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within -d 'Keep every snapshot younger than DURATION (30d, 12w, 1y2m, 36h) relative to the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within-hourly -d 'Keep the newest snapshot of each hour within DURATION of the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within-daily -d 'Keep the newest snapshot of each day within DURATION of the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within-weekly -d 'Keep the newest snapshot of each ISO week within DURATION of the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within-monthly -d 'Keep the newest snapshot of each month within DURATION of the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-within-yearly -d 'Keep the newest snapshot of each year within DURATION of the newest' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l keep-tag -d 'Keep every snapshot with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l group-by -d 'Apply the rules to each group of snapshots sharing these fields (host, paths, tags, category, job; comma-separated; empty: all snapshots form one group)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l host -d 'Only snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l tag -d 'Only snapshots with this tag (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l category -d 'Only snapshots of this category (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l job -d 'Only snapshots of this configured job (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l tz -d 'Time zone of days, weeks, months and years: an IANA name (Europe/Berlin) or `local`' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l max-unused -d 'Unused space tolerated, as a share of the used space: a percentage ("5%") or "unlimited" (only wholly unused packs are deleted, nothing is repacked). A pack more than twice that unused is repacked too' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l max-repack-size -d 'Copy at most this much while repacking (e.g. 500M, 2G); default: no bound' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l grace -d 'Leave packs that no index file names, and temp files, until they are this old (they may belong to a backup still running; temp files are left alone too while another command holds a lock): e.g. 1h, 30m, 0s' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand forget" -s n -l dry-run -d 'Show what would be removed; remove nothing'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l json -d 'Print the result as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l prune -d 'Prune afterwards (`vcd prune`, with the flags below); not in a dry run'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand forget" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -s t -l target -d 'Directory to restore into' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l at -d 'Point in time: restore the newest snapshot at or before this time (RFC 3339, local "YYYY-MM-DD[ HH:MM[:SS]]", "2h ago", "yesterday 14:00", "tuesday")' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l scenario -d 'The recovery scenario this restore answers (from the configuration file, else the specification\'s: complete, partial, configuration): its RTO and RPO are recorded and checked' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l include -d 'Restore only paths matching a glob (repeatable); a matching directory brings its content' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l exclude -d 'Skip paths matching a glob (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l overwrite -d 'What to do with what already exists in the target: always (replace it, as restic does), if-changed (keep a regular file of the snapshot\'s size and modification time), never (keep anything there, restore only what is missing)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l verify -d 'Read every restored file back and compare it with the snapshot'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l delete -d 'Remove what the target has and the snapshot has not, in the directories restored whole (never an excluded name)'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-rollback -d 'Take no image of the target before the restore: `vcd rollback` cannot undo it then'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-owner -d 'Leave owners as the restoring user (a root restore otherwise sets the snapshot\'s owners)'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-special -d 'Skip device nodes, fifos and sockets'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-xattrs -d 'Do not restore extended attributes (ACLs, file capabilities, SELinux labels)'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l allow-foreign-dirs -d 'Restore into existing directories that belong to another user. Refused by default: the owner of such a directory can rename entries in it while the restore runs'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l json -d 'Print the result as JSON (`restoration`, `snapshot`, `target`, the counts, `errors`, `duration_secs`, `scenario`)'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand restore" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l json -d 'Print as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Every event of one restoration'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l json -d 'Print as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from help" -f -a "show" -d 'Every event of one restoration'
complete -c vcd -n "__fish_vcd_using_subcommand restores; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l json -d 'Print the result as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand verify-restore" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l force -d 'Roll back even when the target changed since the restore (those changes are lost)'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l scenario -d 'The recovery scenario (from the configuration file, else the specification\'s: complete, partial, configuration): its categories are restored, its RTO is the yardstick' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l sample -d 'How much to restore: all, a share of the bytes (10%) or a size (500M), as files drawn at random' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l target -d 'Where the scratch directory is made (it is removed at the end; default /var/tmp)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l no-owner -d 'Leave owners as the drilling user\'s (and do not compare them)'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l json -d 'Print the result as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand drill" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand check" -l read-data-subset -d 'Read only this share of packs, e.g. 10%' -r
complete -c vcd -n "__fish_vcd_using_subcommand check" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand check" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand check" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand check" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand check" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand check" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand check" -l read-data -d 'Read, decrypt and hash every blob'
complete -c vcd -n "__fish_vcd_using_subcommand check" -l json -d 'Print the result as JSON (`ok`, `snapshots`, `packs`, `packs_read`, `blobs_read`, `errors`, `info`)'
complete -c vcd -n "__fish_vcd_using_subcommand check" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand check" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand check" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand check" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand check" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l from-repo -d 'The repository to copy from (same forms as --repo)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l from-password-file -d 'The source repository\'s password file (default: this repository\'s password source)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l from-password-command -d 'A command that prints the source repository\'s password' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l json -d 'Print the result as JSON (`copied`: [[source, copy]…], `skipped`, `bytes_read`, `bytes_added`, `blobs_added`)'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand copy" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l since -d 'Only entries at or after this time (RFC 3339, local "YYYY-MM-DD[ HH:MM]", "2h ago")' -r
complete -c vcd -n "__fish_vcd_using_subcommand audit" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l verify -d 'Check the whole trail: every entry authentic and in its place, none missing, the newest ones this host saw and the ones the snapshots name still there'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l json -d 'Print as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand audit" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand status" -l prometheus -d 'Also write the status as Prometheus metrics to FILE (atomically: for node_exporter\'s textfile collector, FILE ends in .prom in its directory)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand status" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand status" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand status" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand status" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand status" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand status" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand status" -l json -d 'Print as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand status" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand status" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand status" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand status" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand status" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -f -a "index" -d 'Rebuild the index from index files and pack trailers'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and not __fish_seen_subcommand_from index help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l read-all-packs -d 'Ignore existing index files: read every pack\'s trailer'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from index" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "index" -d 'Rebuild the index from index files and pack trailers'
complete -c vcd -n "__fish_vcd_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l max-unused -d 'Unused space tolerated, as a share of the used space: a percentage ("5%") or "unlimited" (only wholly unused packs are deleted, nothing is repacked). A pack more than twice that unused is repacked too' -r
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l max-repack-size -d 'Copy at most this much while repacking (e.g. 500M, 2G); default: no bound' -r
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l grace -d 'Leave packs that no index file names, and temp files, until they are this old (they may belong to a backup still running; temp files are left alone too while another command holds a lock): e.g. 1h, 30m, 0s' -r
complete -c vcd -n "__fish_vcd_using_subcommand prune" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand prune" -s n -l dry-run -d 'Show what would be deleted and repacked; change nothing'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l json -d 'Print JSON'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand prune" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -f -a "add" -d 'Add a key (a new password for the same repository)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -f -a "list" -d 'List keys'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -f -a "remove" -d 'Remove a key by id prefix (not the one in use)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -f -a "passwd" -d 'Change the password in use (adds a new key, removes the current one)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and not __fish_seen_subcommand_from add list remove passwd help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l new-password-file -d 'Read the new password from a file (default: prompt, or VCD_NEW_PASSWORD)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Print as JSON (`id`, `current`, `created`, `user`, `host`)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l new-password-file -d 'Read the new password from a file (default: prompt, or VCD_NEW_PASSWORD)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from passwd" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a key (a new password for the same repository)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a key by id prefix (not the one in use)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "passwd" -d 'Change the password in use (adds a new key, removes the current one)'
complete -c vcd -n "__fish_vcd_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l remove-all -d 'Remove every lock, not only stale ones (make sure no vcd is running)'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand unlock" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l host -d 'Choose among snapshots from this host (repeatable: any of them)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l tag -d 'Choose among snapshots with this tag (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l path -d 'Choose among snapshots that backed up this path, or one above it (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l category -d 'Choose among snapshots holding this data category (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l job -d 'Choose among snapshots of this configured job (repeatable)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l cache-size -d 'Memory for decrypted chunks, in MiB (enough for the readahead of sequential readers; more helps only repeated random reads)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l threads -d 'FUSE worker threads' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l daemon -d 'Detach once the mount is ready'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l allow-other -d 'Let other users read the mount (FUSE allow_other)'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l daemon-child
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand mount" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -f -a "init" -d 'Write the specification\'s policy, commented, as a new configuration file'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -f -a "check" -d 'Check the configuration: errors and warnings with line and column, and whether each recovery scenario\'s RPO can be met (exit 1 on an error)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -f -a "show" -d 'Print the effective configuration'
complete -c vcd -n "__fish_vcd_using_subcommand config; and not __fish_seen_subcommand_from init check show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l force -d 'Replace a file that exists'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l json
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l json
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "init" -d 'Write the specification\'s policy, commented, as a new configuration file'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check the configuration: errors and warnings with line and column, and whether each recovery scenario\'s RPO can be met (exit 1 on an error)'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective configuration'
complete -c vcd -n "__fish_vcd_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand run" -l time -d 'Snapshot time to record instead of now (RFC 3339 or "YYYY-MM-DD HH:MM")' -r
complete -c vcd -n "__fish_vcd_using_subcommand run" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand run" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand run" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand run" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand run" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand run" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand run" -l json -d 'Print the report as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand run" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand run" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand run" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand run" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand run" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l from -d 'List runs after this time instead of now (RFC 3339 or "YYYY-MM-DD HH:MM", local)' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l count -d 'How many runs of each job' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l json -d 'Print the runs as JSON'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -f -a "install" -d 'Write the service that runs `vcd daemon` with this configuration'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and not __fish_seen_subcommand_from install help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l dir -d 'Where to write it' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l systemd -d 'A systemd unit, vcd.service'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l force -d 'Replace a unit that exists'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write the service that runs `vcd daemon` with this configuration'
complete -c vcd -n "__fish_vcd_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l state-dir -d 'Directory of the daemon\'s lock and run history (one pair per configuration file)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l metrics-listen -d 'Where to serve Prometheus metrics on /metrics (`off`: nowhere; port 0: any free one, logged)' -r
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand completions" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand completions" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand completions" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand completions" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand completions" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand man" -l dir -d 'Write vcd.1 and one vcd-COMMAND.1 per subcommand into this directory (default: print vcd.1)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand man" -s r -l repo -d 'Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX], or sftp:[USER@]HOST:PATH' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand man" -l config -d 'The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand man" -l password-file -d 'Read the password from a file (first line)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand man" -l cache-dir -d 'Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)' -r -F
complete -c vcd -n "__fish_vcd_using_subcommand man" -l notify-url -d 'POST a JSON event to this URL when the command fails (instead of the configuration\'s [notify] url)' -r
complete -c vcd -n "__fish_vcd_using_subcommand man" -l notify-command -d 'Run this shell command with the event on stdin (and as VCD_* variables) when the command fails (instead of the configuration\'s [notify] command)' -r
complete -c vcd -n "__fish_vcd_using_subcommand man" -l no-cache -d 'Keep no local index: build a temporary one from the repository each run'
complete -c vcd -n "__fish_vcd_using_subcommand man" -s q -l quiet -d 'Print only errors and results'
complete -c vcd -n "__fish_vcd_using_subcommand man" -s v -l verbose -d 'More detail on stderr (-v, -vv)'
complete -c vcd -n "__fish_vcd_using_subcommand man" -l no-lock -d 'Take no lock (read commands only, for read-only storage): nothing then stops a concurrent prune or repair from deleting what this command reads'
complete -c vcd -n "__fish_vcd_using_subcommand man" -s h -l help -d 'Print help'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "init" -d 'Create a repository'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "backup" -d 'Back up files and directories'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "snapshots" -d 'List snapshots'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "ls" -d 'List the files in a snapshot'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "diff" -d 'Show what changed between two snapshots'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "stats" -d 'Repository size, deduplication and compression'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "cat" -d 'Print a repository object (for debugging)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "forget" -d 'Remove snapshots by id or by a retention policy (their data stays until a prune)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "restore" -d 'Restore a snapshot'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "restores" -d 'List the restorations (every restore is recorded), or show one'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "verify-restore" -d 'Compare a restoration\'s target with its snapshot and record the result'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "rollback" -d 'Put a restoration\'s target back as it was before the restore'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "drill" -d 'Restore a scenario\'s data (or a sample) into a scratch directory, verify it, remove it, and estimate the whole restore\'s duration against the RTO'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "check" -d 'Verify the repository'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "copy" -d 'Copy snapshots from another repository into this one (only the data this one lacks)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "audit" -d 'The audit trail: every operation on the repository; --verify checks it'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "status" -d 'Every job against its RPO, every scenario against its RTO, the repository, the last check (exit 0 ok, 1 warning, 2 breach)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "repair" -d 'Repair repository structures'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "prune" -d 'Delete data no snapshot uses (beside running backups)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "key" -d 'Manage the keys (passwords) that open the repository'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "unlock" -d 'Remove stale locks'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "mount" -d 'Mount the snapshots read-only with FUSE'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "config" -d 'Write, check or show the configuration file (categories, jobs, schedules, scenarios)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "run" -d 'Run one configured job now (backup, retention, chained maintenance)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "schedule" -d 'List the next runs of every configured job; install the systemd unit'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "daemon" -d 'Run the configured jobs at their scheduled times (SIGHUP reloads, SIGTERM stops)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "man" -d 'Print or write the manual pages'
complete -c vcd -n "__fish_vcd_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots ls diff stats cat forget restore restores verify-restore rollback drill check copy audit status repair prune key unlock mount config run schedule daemon completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from restores" -f -a "show" -d 'Every event of one restoration'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from repair" -f -a "index" -d 'Rebuild the index from index files and pack trailers'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "add" -d 'Add a key (a new password for the same repository)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List keys'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "remove" -d 'Remove a key by id prefix (not the one in use)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "passwd" -d 'Change the password in use (adds a new key, removes the current one)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "init" -d 'Write the specification\'s policy, commented, as a new configuration file'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Check the configuration: errors and warnings with line and column, and whether each recovery scenario\'s RPO can be met (exit 1 on an error)'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective configuration'
complete -c vcd -n "__fish_vcd_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "install" -d 'Write the service that runs `vcd daemon` with this configuration'
