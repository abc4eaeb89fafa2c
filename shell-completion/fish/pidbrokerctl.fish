# SPDX-License-Identifier: LGPL-2.1-or-later
# fish completion of pidbrokerctl(1).

set -l verbs run list status signal stop wait release getfd features metrics audit monitor help

function __pidbrokerctl_ids
    # The broker the command line names (--system, --direct, --address).
    set -l conn (commandline -opc | string match -r -- '^--(system|direct|direct=.*|address=.*)$')
    command pidbrokerctl $conn list 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }'
end

complete -c pidbrokerctl -f

# Connection and output options, everywhere.
complete -c pidbrokerctl -l system -d 'Use the system bus'
complete -c pidbrokerctl -l direct -d 'Use the broker socket, peer to peer' -r -F
complete -c pidbrokerctl -l address -d 'Use the bus at this D-Bus address' -x
complete -c pidbrokerctl -l json -d 'JSON output'
complete -c pidbrokerctl -s v -l verbose -d 'Say more on stderr'
complete -c pidbrokerctl -s h -l help -d 'Show help'
complete -c pidbrokerctl -l version -d 'Show the version'

# Commands.
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a run -d 'Spawn CMD as a workload'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a list -d 'List your workloads'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a status -d 'Show a workload'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a signal -d 'Send a signal'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a stop -d 'SIGTERM, then SIGKILL'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a wait -d 'Wait for exit'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a release -d 'Forget an exited workload'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a getfd -d 'Copy a file descriptor'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a features -d 'Kernel features the broker probed'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a metrics -d 'Counters, Prometheus format'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a audit -d 'Read the audit log'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a monitor -d 'Follow workload events'
complete -c pidbrokerctl -n "not __fish_seen_subcommand_from $verbs" -a help -d 'Help for one command'
complete -c pidbrokerctl -n "__fish_seen_subcommand_from help" -a "$verbs"

# run
set -l run "__fish_seen_subcommand_from run"
complete -c pidbrokerctl -n $run -l ns -l namespaces -d 'New namespaces' -x -a 'user pid mount net ipc uts cgroup time'
complete -c pidbrokerctl -n $run -l user -d 'Run as user' -x -a '(__fish_complete_users)'
complete -c pidbrokerctl -n $run -l group -d 'Primary group' -x -a '(__fish_complete_groups)'
complete -c pidbrokerctl -n $run -l groups -d 'Supplementary groups' -x -a '(__fish_complete_groups)'
complete -c pidbrokerctl -n $run -l cap -d 'Keep capabilities' -x
complete -c pidbrokerctl -n $run -l seccomp -d 'Seccomp profile' -x -a 'default strict none'
complete -c pidbrokerctl -n $run -s E -l env -d 'Set a variable' -x
complete -c pidbrokerctl -n $run -l clear-env -d 'Start from an empty environment'
complete -c pidbrokerctl -n $run -l cwd -d 'Working directory' -x -a '(__fish_complete_directories)'
complete -c pidbrokerctl -n $run -s d -l same-dir -d 'Working directory: ours'
complete -c pidbrokerctl -n $run -l fd -d 'Give the workload an fd (N:PATH or N:M)' -x
complete -c pidbrokerctl -n $run -l watch -d 'Stop it when pidbrokerctl goes away'
complete -c pidbrokerctl -n $run -l stop-timeout -d 'SIGTERM to SIGKILL grace' -x -a '5s 10s 30s 1min'
complete -c pidbrokerctl -n $run -l wait -d 'Wait and exit with its status'
complete -c pidbrokerctl -n $run -l pty -d 'Run it on a new terminal, relayed'
complete -c pidbrokerctl -n $run -s S -l shell -d 'Run your shell with --pty'
complete -c pidbrokerctl -n $run -l hostname -d 'Host name' -x
complete -c pidbrokerctl -n $run -l uid-map -d 'uid_map line INSIDE:OUTSIDE:COUNT' -x
complete -c pidbrokerctl -n $run -l gid-map -d 'gid_map line INSIDE:OUTSIDE:COUNT' -x
complete -c pidbrokerctl -n $run -l umask -d 'umask, octal' -x -a '022 027 077'
complete -c pidbrokerctl -n $run -l setsid -d 'A session of its own' -x -a 'yes no'
complete -c pidbrokerctl -n $run -l require-pidfd -d 'Refuse rather than run without a pidfd'
complete -c pidbrokerctl -n $run -l no-new-privileges -d 'no_new_privileges' -x -a 'yes no'
complete -c pidbrokerctl -n $run -l cgroup -d 'Start in this cgroup2 directory' -x -a '(__fish_complete_directories /sys/fs/cgroup/)'
complete -c pidbrokerctl -n $run -l exe -d 'Execute this file' -r -F
complete -c pidbrokerctl -n $run -l kill-mode -d 'What stop ends' -x -a 'cgroup process'
complete -c pidbrokerctl -n $run -l rlimit -d 'An rlimit NAME=SOFT[:HARD]' -x -a 'CPU= FSIZE= DATA= STACK= CORE= RSS= NPROC= NOFILE= MEMLOCK= AS= LOCKS= SIGPENDING= MSGQUEUE= NICE= RTPRIO= RTTIME='
complete -c pidbrokerctl -n $run -l nice -d 'Nice level' -x
complete -c pidbrokerctl -n $run -l oom-score-adj -d 'OOM score adjustment' -x
complete -c pidbrokerctl -n $run -l memory-max -d 'memory.max' -x -a infinity
complete -c pidbrokerctl -n $run -l pids-max -d 'pids.max' -x -a infinity
complete -c pidbrokerctl -n $run -l cpu-weight -d 'cpu.weight' -x
complete -c pidbrokerctl -n $run -l io-weight -d 'io.weight' -x
complete -c pidbrokerctl -n $run -s p -l property -d 'Resource setting, as systemd-run spells it' -x -a 'MemoryMax= TasksMax= CPUWeight= IOWeight= Nice= OOMScoreAdjust= KillMode= LimitCPU= LimitFSIZE= LimitDATA= LimitSTACK= LimitCORE= LimitRSS= LimitNPROC= LimitNOFILE= LimitMEMLOCK= LimitAS= LimitLOCKS= LimitSIGPENDING= LimitMSGQUEUE= LimitNICE= LimitRTPRIO= LimitRTTIME='
complete -c pidbrokerctl -n $run -s q -l quiet -d 'Print only the workload id'
complete -c pidbrokerctl -n $run -a '(__fish_complete_subcommand --fcs-skip=2)'

# Workload ids, signals.
complete -c pidbrokerctl -n "__fish_seen_subcommand_from status stop wait release getfd signal" -a '(__pidbrokerctl_ids)'
complete -c pidbrokerctl -n "__fish_seen_subcommand_from signal getfd" -l pid -d 'A process instead of a workload' -x -a '(__fish_complete_pids)'
complete -c pidbrokerctl -n "__fish_seen_subcommand_from signal" -l scope -d 'Scope' -x -a 'thread process group'
complete -c pidbrokerctl -n "__fish_seen_subcommand_from signal" -a '0 TERM KILL HUP INT QUIT USR1 USR2 STOP CONT'

# audit
set -l audit "__fish_seen_subcommand_from audit"
complete -c pidbrokerctl -n $audit -l action -d 'Action' -x -a 'spawn spawn-as-user spawn-privileged signal signal-other-user signal-cross-namespace getfd manage'
complete -c pidbrokerctl -n $audit -l decision -d 'Decision' -x -a 'allow deny'
complete -c pidbrokerctl -n $audit -l result -d 'Result' -x -a 'pending denied ok esrch eperm eacces'
complete -c pidbrokerctl -n $audit -l uid -d 'Subject user' -x -a '(__fish_complete_users)'
complete -c pidbrokerctl -n $audit -l workload -d 'Target workload' -x -a '(__pidbrokerctl_ids)'
complete -c pidbrokerctl -n $audit -l since -d 'From' -x -a 'today yesterday -10min -1h now'
complete -c pidbrokerctl -n $audit -l until -d 'Up to' -x -a 'today yesterday -10min -1h now'
complete -c pidbrokerctl -n $audit -s f -l follow -d 'Keep printing new records'
complete -c pidbrokerctl -n $audit -l audit-log -d 'Read this file' -r -F
