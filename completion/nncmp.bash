# bash completion for nncmp(1)                                  -*- shell-script -*-
#
# Completes subcommands, each subcommand's options, STUDY (directories and *.ini manifests),
# the study's model and layer names for --model, --models, --layer and --with (MODEL.LAYER for
# issues --layer), the values of --method, --format and --graphics, and theme names.
# Model and layer names come from the file system (models/*/, models/M/act/*.npy,
# models/M/weights/*.npy, or a study.ini's [model NAME] sections and act.L / weights.L keys);
# when that finds nothing, from `nncmp check STUDY --json`.

_nncmp_subcommands="report instances check neurons profile matrix similarity project weights diff issues dups export decisions preview classes calibration gate words overview arch kernels patches saliency"

# _nncmp_opts CMD: the options of a subcommand
_nncmp_opts()
{
    case $1 in
        report) echo "--filter --pairs --json --seed --html --markdown --force --help" ;;
        instances) echo "--filter --sort --top --json --format --help" ;;
        check) echo "--json --help" ;;
        neurons) echo "--model --layer --filter --by --channels --top --bins --threads --json --help" ;;
        profile) echo "--index --model --layer --top --json --help" ;;
        matrix) echo "--model --layer --rows --filter --sort-row --top --threads --json --help" ;;
        similarity) echo "--model --layer --with --neuron --top --abs --cka --filter --matrix --threads --json --help" ;;
        project) echo "--model --layer --filter --top --threads --json --help" ;;
        weights) echo "--model --layer --grid --summary --json --help" ;;
        diff) echo "--models --layer --bins --decades --json --help" ;;
        issues) echo "--method --model --top --filter --layer --k --force --json --help" ;;
        dups) echo "--model --layer --pixels --size --threshold --top --across-splits --any-class --json --threads --help" ;;
        export) echo "--out --format --force --help" ;;
        decisions) echo "--all --json --help" ;;
        preview) echo "--index --graphics --width --help" ;;
        classes) echo "--model --top --json --help" ;;
        calibration) echo "--model --bins --json --help" ;;
        gate) echo "--base --new --alpha --metric --seed --json --help" ;;
        words) echo "--filter --min --by --stop --top --json --help" ;;
        overview) echo "--model --json --help" ;;
        arch) echo "--model --json --help" ;;
        kernels) echo "--model --layer --vs --json --help" ;;
        patches) echo "--model --layer --channel --top --json --help" ;;
        saliency) echo "--index --filter --json --help" ;;
        *) echo "--theme --graphics --filter --sort --models --help --version" ;;
    esac
}

# _nncmp_nargs OPT: how many arguments OPT takes
_nncmp_nargs()
{
    case $1 in
        --models) echo 2 ;;
        --filter | --sort | --top | --seed | --model | --layer | --by | --bins | --threads | \
            --index | --rows | --sort-row | --with | --neuron | --grid | --summary | \
            --decades | --theme | --color | --colour | --method | --k | --size | --threshold | --out | --format | \
            --width | --graphics | --base | --new | --alpha | --metric | --html | \
            --markdown | --min | --vs | --channel) echo 1 ;;
        *) echo 0 ;;
    esac
}

# _nncmp_manifest STUDY: prints the study.ini path when STUDY is (or holds) a manifest
_nncmp_manifest()
{
    if [[ -f $1 ]]; then
        printf '%s\n' "$1"
    elif [[ -f $1/study.ini ]]; then
        printf '%s\n' "$1/study.ini"
    fi
}

# _nncmp_check_json STUDY: nncmp check --json, one object per line from each model on
_nncmp_check_json()
{
    local bin=${COMP_WORDS[0]:-nncmp}
    [[ $bin == */* && -x $bin ]] || bin=nncmp
    type -P "${bin}" >/dev/null 2>&1 || [[ -x $bin ]] || return 0
    if type -P timeout >/dev/null 2>&1; then
        timeout 5 "$bin" check "$1" --json 2>/dev/null
    else
        "$bin" check "$1" --json 2>/dev/null
    fi | sed 's/{"name":"\([^"]*\)","source"/\
MODEL \1 /g'
}

# _nncmp_models STUDY [fs]: with "fs", the file system only (no nncmp check)
_nncmp_models()
{
    local study=$1 ini d out=''
    ini=$(_nncmp_manifest "$study")
    if [[ -n $ini ]]; then
        out=$(sed -n 's/^[[:space:]]*\[[[:space:]]*model[[:space:]]\{1,\}\([^]]*[^][:space:]]\)[[:space:]]*\].*/\1/p' "$ini" 2>/dev/null)
    elif [[ -d $study/models ]]; then
        for d in "$study"/models/*/; do
            [[ -d $d ]] || continue
            d=${d%/}
            out+="${d##*/}"$'\n'
        done
    fi
    if [[ -z $out && -e $study && $2 != fs ]]; then
        out=$(_nncmp_check_json "$study" | sed -n 's/^MODEL \([^ ]*\) .*/\1/p')
    fi
    printf '%s' "$out"
}

# _nncmp_layers STUDY MODEL...: the layers (activations or weights) of the models (all if none)
_nncmp_layers()
{
    local study=$1 ini m f out=''
    shift
    # shellcheck disable=SC2046 # model names hold no blanks
    [[ $# -gt 0 ]] || set -- $(_nncmp_models "$study")
    ini=$(_nncmp_manifest "$study")
    for m in "$@"; do
        if [[ -n $ini ]]; then
            out+=$(awk -v want="$m" '
                /^[ \t]*\[/ {
                    s = $0; sub(/^[ \t]*\[[ \t]*/, "", s); sub(/[ \t]*\].*$/, "", s)
                    inside = 0
                    if (s ~ /^model[ \t]+/) { sub(/^model[ \t]+/, "", s); inside = (s == want) }
                    next
                }
                inside && /^[ \t]*(act|weights)\.[^=]*=/ {
                    k = $0; sub(/^[ \t]*(act|weights)\./, "", k); sub(/[ \t]*=.*$/, "", k)
                    print k
                }' "$ini" 2>/dev/null)$'\n'
        elif [[ -d $study/models/$m ]]; then
            for f in "$study/models/$m"/act/*.npy "$study/models/$m"/weights/*.npy; do
                [[ -f $f ]] || continue
                f=${f##*/}
                out+="${f%.npy}"$'\n'
            done
        fi
    done
    # nncmp check only when the file system shows no model at all (a model may have no layer)
    if [[ -z ${out//$'\n'/} && -e $study && -z $(_nncmp_models "$study" fs) ]]; then
        local json
        json=$(_nncmp_check_json "$study")
        for m in "$@"; do
            out+=$(printf '%s\n' "$json" | sed -n "s/^MODEL $m //p" |
                sed 's/{"name":"\([^"]*\)","\(act\|weights\)"/\
LAYER \1\
/g' | sed -n 's/^LAYER //p')$'\n'
        done
    fi
    printf '%s\n' "$out" | sed '/^$/d' | sort -u
}

_nncmp_themes()
{
    local d f out='' bin
    local dirs=("${XDG_CONFIG_HOME:-$HOME/.config}/nncmp/themes")
    [[ -n ${BASH_SOURCE[0]} ]] && dirs+=("${BASH_SOURCE[0]%/*}/../../nncmp/themes")
    bin=$(type -P nncmp 2>/dev/null)
    [[ -n $bin ]] && dirs+=("${bin%/*}/../share/nncmp/themes" "${bin%/*}/themes")
    dirs+=(themes /usr/local/share/nncmp/themes /usr/share/nncmp/themes)
    for d in "${dirs[@]}"; do
        for f in "$d"/*.ini; do
            [[ -f $f ]] || continue
            f=${f##*/}
            out+="${f%.ini}"$'\n'
        done
    done
    [[ -n $out ]] || out=$'default\nlight\ncolorblind\nmonochrome\n'
    printf '%s' "$out" | sort -u
}

# STUDY: directories and *.ini files
_nncmp_complete_study()
{
    local cur=$1
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    local d hidden=
    [[ ${cur##*/} == .* ]] && hidden=1
    while read -r d; do
        [[ -z $hidden && ${d##*/} == .* ]] && continue
        COMPREPLY+=("$d")
    done < <(compgen -d -- "$cur")
    COMPREPLY+=($(compgen -f -X '!*.ini' -- "$cur"))
}

_nncmp()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prev2=
    ((COMP_CWORD > 1)) && prev2=${COMP_WORDS[COMP_CWORD - 2]}
    COMPREPLY=()

    # the subcommand, the study and the values of --model / --models given so far
    local cmd='' study='' model='' i w n
    local -a models=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == -* ]]; then
            n=$(_nncmp_nargs "$w")
            case $w in
                --model) model=${COMP_WORDS[i + 1]} ;;
                --models) models=("${COMP_WORDS[i + 1]}" "${COMP_WORDS[i + 2]}") ;;
            esac
            ((i += n))
        elif [[ -z $cmd && $i -eq 1 && " $_nncmp_subcommands " == *" $w "* ]]; then
            cmd=$w
        elif [[ -z $study ]]; then
            study=$w
            [[ -z $cmd ]] && cmd=-
        fi
    done
    [[ $study == \~/* ]] && study=$HOME/${study#\~/}
    ((${#models[@]})) && models=($(printf '%s\n' "${models[@]}" | sed '/^$/d'))

    local words
    case $prev in
        --model)
            [[ -n $study ]] && COMPREPLY=($(compgen -W "$(_nncmp_models "$study")" -- "$cur"))
            return 0
            ;;
        --base | --new | --vs)
            [[ -n $study ]] && COMPREPLY=($(compgen -W "$(_nncmp_models "$study")" -- "$cur"))
            return 0
            ;;
        --metric)
            COMPREPLY=($(compgen -W "accuracy macro_f1" -- "$cur"))
            return 0
            ;;
        --models)
            [[ -n $study ]] && COMPREPLY=($(compgen -W "$(_nncmp_models "$study")" -- "$cur"))
            return 0
            ;;
        --layer)
            if [[ -n $study && $cmd == issues ]]; then
                # issues --layer MODEL.LAYER
                local m l
                local -a ms
                if [[ -n $model ]]; then ms=("$model"); else ms=($(_nncmp_models "$study")); fi
                words=
                for m in "${ms[@]}"; do
                    for l in $(_nncmp_layers "$study" "$m"); do words+="$m.$l"$'\n'; done
                done
                COMPREPLY=($(compgen -W "$words" -- "$cur"))
            elif [[ -n $study ]]; then
                if [[ -n $model ]]; then
                    words=$(_nncmp_layers "$study" "$model")
                elif ((${#models[@]})); then
                    words=$(_nncmp_layers "$study" "${models[@]}")
                else
                    words=$(_nncmp_layers "$study")
                fi
                COMPREPLY=($(compgen -W "$words" -- "$cur"))
            fi
            return 0
            ;;
        --with)
            if [[ -n $study ]]; then
                if [[ $cur == *.* ]]; then
                    local m=${cur%%.*} l
                    words=
                    for l in $(_nncmp_layers "$study" "$m"); do words+="$m.$l"$'\n'; done
                    COMPREPLY=($(compgen -W "$words" -- "$cur"))
                else
                    words=
                    [[ -n $model ]] && words=$(_nncmp_layers "$study" "$model")$'\n'
                    local m
                    for m in $(_nncmp_models "$study"); do words+="$m."$'\n'; done
                    COMPREPLY=($(compgen -W "$words" -- "$cur"))
                    # a bare "model." is not finished: no space after it
                    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *. ]] &&
                        compopt -o nospace 2>/dev/null
                fi
            fi
            return 0
            ;;
        --theme)
            COMPREPLY=($(compgen -W "$(_nncmp_themes)" -- "$cur"))
            return 0
            ;;
        --color | --colour)
            COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
            return 0
            ;;
        --by)
            if [[ $cmd == words ]]; then
                COMPREPLY=($(compgen -W "lift count" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "d mean std dead" -- "$cur"))
            fi
            return 0
            ;;
        --method)
            COMPREPLY=($(compgen -W "mix mean cl margin iies consensus knn" -- "$cur"))
            return 0
            ;;
        --format)
            if [[ $cmd == instances ]]; then
                COMPREPLY=($(compgen -W "text json jsonl csv tsv" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "npy csv jsonl" -- "$cur"))
            fi
            return 0
            ;;
        --graphics)
            if [[ $cmd == preview ]]; then
                COMPREPLY=($(compgen -W "sixel kitty iterm blocks" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "sixel kitty iterm blocks none" -- "$cur"))
            fi
            return 0
            ;;
        --out | --html | --markdown)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --rows)
            COMPREPLY=($(compgen -W "class filter" -- "$cur"))
            return 0
            ;;
        --summary)
            COMPREPLY=($(compgen -W "peak mean" -- "$cur"))
            return 0
            ;;
        --sort)
            COMPREPLY=($(compgen -W "index id issue correct gt conf( margin( p( act(" -- "$cur"))
            compopt -o nospace 2>/dev/null
            return 0
            ;;
        --filter | --top | --seed | --bins | --threads | --index | --sort-row | --neuron | \
            --grid | --decades | --k | --size | --threshold | --width | --alpha)
            return 0
            ;;
    esac
    # the second model of --models
    if [[ $prev2 == --models && $prev != -* && -n $study ]]; then
        COMPREPLY=($(compgen -W "$(_nncmp_models "$study")" -- "$cur"))
        return 0
    fi

    if [[ $cur == --color=* ]]; then
        COMPREPLY=($(compgen -P --color= -W "auto always never" -- "${cur#--color=}"))
        return 0
    fi
    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$_nncmp_subcommands" -- "$cur"))
        _nncmp_complete_study "$cur"
        return 0
    fi
    if [[ $cur == -* ]]; then
        local c=$cmd
        [[ $c == - ]] && c=
        COMPREPLY=($(compgen -W "$(_nncmp_opts "$c" | tr ' ' '\n') --no-journal --color= --" -- "$cur"))
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == --color= ]] && compopt -o nospace 2>/dev/null
        return 0
    fi
    if [[ -z $study ]]; then
        _nncmp_complete_study "$cur"
    fi
    return 0
}

complete -F _nncmp nncmp
