" pidsh scripts: *.pidsh, or a `#!...pidsh` first line.
autocmd BufRead,BufNewFile *.pidsh setfiletype pidsh
autocmd BufRead,BufNewFile * if getline(1) =~# '^#!.*\<pidsh\>' | setfiletype pidsh | endif
