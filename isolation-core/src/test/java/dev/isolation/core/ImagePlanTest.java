package dev.isolation.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolation.cgroups.ByteSize;
import dev.isolation.core.internal.launch.LaunchPlan;
import dev.isolation.core.internal.launch.PlanCodec;
import dev.isolation.core.internal.launch.Step;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The mount plan of a root on an image, and the helper's numbers for the mount kinds and options it uses. */
class ImagePlanTest {
    @Test
    void everyMountKindHasTheNumberTheHelperGivesIt() throws Exception {
        String c = Files.readString(Path.of("src/main/c/plan_tags.h"));
        String table = c.substring(c.indexOf("#define MOUNT_KINDS(X)"), c.indexOf("#define MOUNT_KIND_ENUM"));
        Matcher m = Pattern.compile("\\bX\\(([A-Z]+), (\\d+)\\)").matcher(table);
        int found = 0;
        while (m.find()) {
            assertThat(LaunchPlan.MountKind.valueOf(m.group(1)).code).as(m.group(1)).isEqualTo(Integer.parseInt(m.group(2)));
            found++;
        }
        assertThat(found).isEqualTo(LaunchPlan.MountKind.values().length);
        assertThat(LaunchPlan.MountKind.OVERLAY.code).isEqualTo(10);
        assertThat(Files.readString(Path.of("src/main/c/steps.c"))).contains("#define OPT_USERXATTR " + LaunchPlan.MOUNT_USERXATTR + "u");
    }

    /** The mount records of a plan, as the helper would read them: kind, flags, options, then source, target, data. */
    private static List<String> mounts(LaunchPlan plan) {
        List<String> out = new ArrayList<>();
        for (Step s : PlanCodec.decode(plan.encode()).steps()) {
            if (s instanceof Step.Mount m) {
                out.add(m.kind() + " " + m.flags() + " " + m.options() + " " + m.source() + " " + m.target() + " " + m.data());
            }
        }
        return out;
    }

    @Test
    void anImageRootIsAnOverlayOfItsLayersTopmostFirstLeftWritable() {
        LaunchPlan plan = new LaunchPlan();
        FilesystemPlan.append(plan, Optional.empty(), Optional.of(new FilesystemPlan.ImageRoot(List.of(Path.of("/c/l1"), Path.of("/c/l2"),
                Path.of("/c/l3")), false, true)), List.of(), List.of(), Set.of(), ByteSize.mb(8), Optional.empty(), true, 0, 0);
        List<String> mounts = mounts(plan);
        assertThat(mounts.get(0)).isEqualTo("OVERLAY " + (LaunchPlan.MS_NOSUID | LaunchPlan.MS_NODEV) + " " + LaunchPlan.MOUNT_USERXATTR
                + " /c/l3:/c/l2:/c/l1 / " + (8 << 20));
        assertThat(mounts).anyMatch(s -> s.startsWith("DIR") && s.contains(" /proc "));
        assertThat(mounts).as("no read-only remount of the root, no host binds, no stub /etc files")
                .noneMatch(s -> s.startsWith("REMOUNT") && s.contains(" / ")).noneMatch(s -> s.contains("/usr")).noneMatch(s -> s.startsWith("WRITE"));
        LaunchPlan setuid = new LaunchPlan();
        FilesystemPlan.append(setuid, Optional.empty(), Optional.of(new FilesystemPlan.ImageRoot(List.of(Path.of("/c/l1")), true, false)),
                List.of(), List.of(), Set.of(), ByteSize.mb(8), Optional.of(ByteSize.mb(1)), true, 0, 0);
        assertThat(mounts(setuid).get(0)).as("setuid kept, no userxattr, the storage cap applies")
                .isEqualTo("OVERLAY " + LaunchPlan.MS_NODEV + " 0 /c/l1 / " + (1 << 20));
    }
}
