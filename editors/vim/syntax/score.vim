" Vim syntax for leadscore rule files (.score): the words of the VS Code grammar
" (editors/vscode/syntaxes/score.tmLanguage.json), in Vim's groups.
if exists("b:current_syntax")
  finish
endif

syn keyword scoreDeclaration model import schema let score rule total clamp disqualify segment
syn keyword scoreDeclaration tiers grade account test field
syn keyword scoreControl when per once first repeat require for by
syn keyword scoreOperatorWord and or not in is matches contains starts_with ends_with
syn keyword scoreKeyword cap floor within half_life lifespan at most decay every without where
syn keyword scoreKeyword version as_of events expect lead event key created time type types table
syn keyword scoreKeyword last distinct sticky previous_tier
syn keyword scoreFunction count sum exists days_since max min avg
syn keyword scoreConstant true false missing present

syn match scoreTimestamp "\<\d\{4}-\d\{2}-\d\{2}\(T\d\{2}:\d\{2}\(:\d\{2}\(\.\d\+\)\=\)\=\(Z\|[+-]\d\{2}:\=\d\{2}\)\=\)\="
syn match scoreDuration "\<\d\+[A-Za-z_]\+\>"
syn match scorePercent "\<\d\+\(\.\d\+\)\=%"
syn match scoreNumber "[+-]\=\<\d\+\(\.\d\+\)\=\>"
syn match scoreQuotedName "`[^`]\+`"
syn match scoreOperator "==\|!=\|<=\|>=\|[<>=|]\|\.\."

syn match scoreDeclName "\(\<\(score\|let\|segment\|grade\)\s\+\)\@<=\h\w*"
syn match scoreDeclName "\(\<tiers\s\+for\s\+\)\@<=\h\w*"
syn match scoreEventType "\(\<event\s\+\)\@<=\(where\>\|within\>\)\@!\h\w*"

syn region scoreString start=+"+ skip=+\\.+ end=+"\|$+ contains=scoreEscape
syn match scoreEscape "\\." contained
syn match scoreSuppression "leadscore\s*:\s*ignore\(\s*\[[^]]*\]\)\=" contained
syn match scoreComment "#.*$" contains=scoreSuppression,@Spell

hi def link scoreDeclaration Structure
hi def link scoreControl Conditional
hi def link scoreOperatorWord Operator
hi def link scoreOperator Operator
hi def link scoreKeyword Keyword
hi def link scoreFunction Function
hi def link scoreConstant Boolean
hi def link scoreTimestamp Number
hi def link scoreDuration Number
hi def link scorePercent Number
hi def link scoreNumber Number
hi def link scoreQuotedName Identifier
hi def link scoreDeclName Identifier
hi def link scoreEventType Type
hi def link scoreString String
hi def link scoreEscape SpecialChar
hi def link scoreSuppression PreProc
hi def link scoreComment Comment

let b:current_syntax = "score"
