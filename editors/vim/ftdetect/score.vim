" leadscore rule files. Vim and Neovim take *.score for slrn score files (`slrnsc`):
" `set filetype=` rather than `setfiletype`, which would keep that.
autocmd BufRead,BufNewFile *.score set filetype=score
