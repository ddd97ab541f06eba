const fs = require('fs');
const files = fs.readdirSync('src');
for (const f of files) console.log(f);
