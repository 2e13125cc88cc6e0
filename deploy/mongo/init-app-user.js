// Runs once, when MongoDB starts on an empty data volume, as the root user of .env: creates the
// user api, relay and consumer connect as, allowed to read and write boundbox's databases only
// (MONGODB_DB and SALES_DB of docker-compose.yml), nothing on the server or other databases.
db.getSiblingDB("admin").createUser({
  user: process.env.MONGO_APP_USERNAME,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [
    { role: "readWrite", db: "boundbox" },
    { role: "readWrite", db: "boundbox_sales" },
  ],
});
