const fs = require('fs');
const path = require('path');
const hooks = path.join(__dirname, '..', '.git', 'hooks');
if (fs.existsSync(hooks)) {
  console.log('installing hooks into', hooks);
}
