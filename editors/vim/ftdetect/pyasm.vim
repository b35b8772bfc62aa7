" .pyasm files: hand-written CPython bytecode for the pyasm assembler.
autocmd BufRead,BufNewFile *.pyasm setfiletype pyasm
