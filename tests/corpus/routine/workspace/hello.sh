echo "hello $USER"
date
