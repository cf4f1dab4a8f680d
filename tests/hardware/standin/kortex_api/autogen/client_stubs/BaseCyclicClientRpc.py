import numpy as np
from scipy.spatial.transform import Rotation

from kortex_api.autogen.messages import Base_pb2 as pb
from kortex_api.autogen.messages import BaseCyclic_pb2


class BaseCyclicClient:
    def __init__(self, router) -> None:
        self.router = router

    def RefreshFeedback(self):
        device = self.router.device
        device.advance()
        twin = device.twin
        position, quaternion = twin.link_pose(twin.tool_link)
        linear, angular = twin.link_velocity(twin.tool_link)
        q, qdot, torques = twin.joint_state()
        feedback = BaseCyclic_pb2.Feedback()
        b = feedback.base
        b.tool_pose_x, b.tool_pose_y, b.tool_pose_z = map(float, position)
        # Extrinsic x-y-z angles in degrees (the convention the backend assumes).
        theta = Rotation.from_quat(quaternion).as_euler("xyz", degrees=True)
        b.tool_pose_theta_x, b.tool_pose_theta_y, b.tool_pose_theta_z = map(float, theta)
        b.tool_twist_linear_x, b.tool_twist_linear_y, b.tool_twist_linear_z = map(float, linear)
        deg = np.degrees(angular)
        b.tool_twist_angular_x, b.tool_twist_angular_y, b.tool_twist_angular_z = map(float, deg)
        b.fault_bank_a = device.fault
        b.active_state = pb.ARMSTATE_IN_FAULT if device.fault else pb.ARMSTATE_SERVOING_READY
        feedback.actuators = [
            BaseCyclic_pb2.ActuatorFeedback(
                float(np.degrees(a) % 360.0), float(np.degrees(v)), float(t)
            )
            for a, v, t in zip(q, qdot, torques, strict=True)
        ]
        return feedback
